import { createHash } from "node:crypto";
import { constants, type FileHandle, open, realpath } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { GenerationWarning } from "../contract/generation-warning.ts";
import { WAN_IMAGE_RULES } from "../contract/wan-model.ts";
import { ConfigurationError } from "../errors/configuration-error.ts";
import { InputError } from "../errors/input-error.ts";
import { StorageError } from "../errors/storage-error.ts";
import { isVideoGenerationError } from "../errors/video-generation-error.ts";
import { redactUrl } from "../net/redact.ts";
import { type BmpHeader, looksLikeBmp, readBmpHeader } from "./bmp-header.ts";
import { FfmpegFailure, runFfmpeg } from "./run-ffmpeg.ts";

/** Formats of the bytes the stage submits. BMP is accepted but converted to PNG (see `resolveReferenceImage`). */
export type ReferenceImageFormat = "jpeg" | "png" | "webp";

/** Where a reference image came from. */
export type ReferenceImageSource = "url" | "data" | "s3" | "path" | "bytes";

/** A reference image that passed every rule, ready to submit. */
export interface ResolvedImage {
  /** The bytes to submit (possibly normalized from what the client sent: see `warnings`). */
  bytes: Uint8Array;
  /** Lowercase hex SHA-256 of `bytes`; part of the cache key. */
  sha256: string;
  /** MIME type of `bytes`, e.g. `image/jpeg`. */
  contentType: string;
  format: ReferenceImageFormat;
  /** Pixels, as displayed (EXIF orientation already applied to the bytes). */
  width: number;
  height: number;
  source: ReferenceImageSource;
  /** The https URL the provider may fetch itself; only when the submitted bytes are exactly the ones at that URL. */
  publicUrl?: string;
  /** What was changed on the way (alpha flattened, orientation applied, BMP converted). */
  warnings: GenerationWarning[];
}

/**
 * Which local files may be read: `any` (the CLI: whatever path its user names), `root` (a server: only files under
 * this directory, after resolving symlinks), `none` (a server without REFERENCE_IMAGE_ROOT: no local files).
 */
export type LocalFileAccess = { mode: "any" } | { mode: "root"; root: string } | { mode: "none" };

export interface ResolveReferenceImageOptions {
  /** Downloads an http(s) URL, refusing bodies over `maxBytes`. The composition root passes the SSRF-checked fetcher. */
  fetchBytes: (url: string, maxBytes: number, signal?: AbortSignal) => Promise<Uint8Array>;
  /** Reads an S3 object, refusing objects over `maxBytes`. Absent: `s3://` references fail with a ConfigurationError. */
  readS3Object?: (bucket: string, key: string, maxBytes: number) => Promise<Uint8Array>;
  localFiles: LocalFileAccess;
  /** Largest accepted image in bytes. Default 20 MiB (the API's limit). */
  maxBytes?: number;
  /** The ffmpeg binary, which converts BMP to PNG (sharp has no BMP reader). Absent: BMP images are refused. */
  ffmpegPath?: string;
  signal?: AbortSignal;
}

const FIELD = "reference_image";
const { minSide: MIN_SIDE, maxSide: MAX_SIDE } = WAN_IMAGE_RULES;

/** Decoding refuses images with more pixels than the largest accepted one (8000 × 8000): the decompression-bomb cap. */
export const REFERENCE_IMAGE_MAX_PIXELS = MAX_SIDE * MAX_SIDE;

/** JPEG quality of every re-encode (orientation, crop): high enough that the model sees no new artefacts. */
export const REENCODE_JPEG_QUALITY = 92;

const refuse = (message: string) => InputError.forField(FIELD, `${FIELD} ${message}`);

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const formatBytes = (count: number) => `${(count / 1024 / 1024).toFixed(1)} MiB (${count} bytes)`;

interface SourceBytes {
  bytes: Buffer;
  source: ReferenceImageSource;
  /** How the reference is named in messages: never a whole data URI or a signed query string. */
  label: string;
  publicUrl?: string;
}

/**
 * Reads a reference image from any accepted form and checks it against the API's rules: at most 20 MiB; JPEG, PNG,
 * BMP or WEBP by content (magic bytes, confirmed by the decoder; never by extension or Content-Type); each side
 * 240..8000 pixels, checked on the declared size before any pixel is decoded; fully decodable (truncated files are
 * refused).
 *
 * Normalizations, each reported as a warning: a PNG with an alpha channel is flattened onto white (the API takes
 * "PNG (no alpha channel)", and a transparent area would otherwise be rendered as whatever the decoder leaves there);
 * an EXIF orientation other than "normal" is applied to the pixels (servers decoding without EXIF would see the
 * image sideways); a BMP is converted to PNG losslessly by ffmpeg (sharp cannot read BMP, and PNG is smaller to
 * upload), its alpha, if any, flattened onto white.
 *
 * Every refusal is an `InputError` for `reference_image` naming the rule and the value.
 */
export async function resolveReferenceImage(
  reference: string | Uint8Array,
  options: ResolveReferenceImageOptions,
): Promise<ResolvedImage> {
  const maxBytes = options.maxBytes ?? WAN_IMAGE_RULES.maxBytes;
  const read = await readSource(reference, options, maxBytes);
  if (read.bytes.byteLength > maxBytes) {
    throw refuse(
      `must be at most ${formatBytes(maxBytes)}; ${read.label} has ${formatBytes(read.bytes.byteLength)}`,
    );
  }
  const image = await inspect(read.bytes, read.label, options);
  if (image.bytes.byteLength > maxBytes) {
    throw refuse(
      `must be at most ${formatBytes(maxBytes)}; ${read.label} is ${formatBytes(image.bytes.byteLength)} after normalization`,
    );
  }
  const resolved: ResolvedImage = {
    bytes: image.bytes,
    sha256: sha256Hex(image.bytes),
    contentType: `image/${image.format}`,
    format: image.format,
    width: image.width,
    height: image.height,
    source: read.source,
    warnings: image.warnings,
  };
  if (read.publicUrl && image.unchanged) resolved.publicUrl = read.publicUrl;
  return resolved;
}

async function readSource(
  reference: string | Uint8Array,
  options: ResolveReferenceImageOptions,
  maxBytes: number,
): Promise<SourceBytes> {
  if (typeof reference !== "string") {
    return { bytes: asBuffer(reference), source: "bytes", label: "the given image bytes" };
  }
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(reference)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") {
    const label = redactUrl(reference);
    const bytes = await download(reference, label, options, maxBytes);
    return scheme === "https"
      ? { bytes, source: "url", label, publicUrl: reference }
      : { bytes, source: "url", label };
  }
  if (scheme === "data")
    return { bytes: decodeDataUri(reference, maxBytes), source: "data", label: "the data: URI" };
  if (scheme === "s3") return readS3(reference, options, maxBytes);
  if (scheme === "file") {
    let filePath: string;
    try {
      filePath = fileURLToPath(reference);
    } catch {
      throw refuse(
        `must be a file:// URL of a local file on this machine; got ${JSON.stringify(redactUrl(reference))}`,
      );
    }
    return {
      bytes: await readLocalFile(filePath, options.localFiles, maxBytes),
      source: "path",
      label: filePath,
    };
  }
  if (scheme !== undefined) {
    throw refuse(
      `must be an https URL, a data: URI, an s3://bucket/key URI or a local path; the scheme "${scheme}:" is not accepted`,
    );
  }
  return {
    bytes: await readLocalFile(reference, options.localFiles, maxBytes),
    source: "path",
    label: JSON.stringify(reference),
  };
}

async function download(
  url: string,
  label: string,
  options: ResolveReferenceImageOptions,
  maxBytes: number,
): Promise<Buffer> {
  try {
    return asBuffer(await options.fetchBytes(url, maxBytes, options.signal));
  } catch (error) {
    // The fetcher classifies its own refusals (blocked address, too large); anything else is a failed download.
    if (isVideoGenerationError(error)) throw error;
    throw new StorageError(
      `${FIELD} ${label} could not be downloaded: ${error instanceof Error ? error.message : String(error)}`,
      { code: "reference_image_download_failed", retryable: true, cause: error },
    );
  }
}

const DATA_URI = /^data:(image\/[a-z0-9.+-]+)((?:;[^;,]*)*),/i;

function decodeDataUri(reference: string, maxBytes: number): Buffer {
  const match = DATA_URI.exec(reference);
  const description = `a data: URI of ${reference.length} characters`;
  if (!match || !/;base64$/i.test(match[2] ?? "")) {
    throw refuse(`as a data: URI must read data:image/<type>;base64,<data>; got ${description}`);
  }
  const payload = reference.slice(match[0].length).replace(/\s+/g, "");
  // Checked before decoding, so a huge payload never becomes a huge Buffer.
  const decodedLength = Math.floor((payload.length * 3) / 4) - (payload.match(/=*$/)?.[0].length ?? 0);
  if (decodedLength > maxBytes) {
    throw refuse(
      `must be at most ${formatBytes(maxBytes)}; ${description} holds ${formatBytes(decodedLength)}`,
    );
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload) || payload.length % 4 === 1) {
    throw refuse(`as a data: URI must carry valid base64 data; ${description} does not`);
  }
  return Buffer.from(payload, "base64");
}

async function readS3(
  reference: string,
  options: ResolveReferenceImageOptions,
  maxBytes: number,
): Promise<SourceBytes> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/i.exec(reference);
  if (!match) throw refuse(`as an S3 URI must read s3://bucket/key; got ${JSON.stringify(reference)}`);
  if (!options.readS3Object) {
    throw new ConfigurationError(
      `${FIELD} ${reference} is an S3 object, but no S3 storage is configured: set S3_BUCKET (and S3_ENDPOINT, S3_REGION as needed) to read s3:// references`,
      { code: "s3_not_configured" },
    );
  }
  const bytes = asBuffer(await options.readS3Object(match[1]!, match[2]!, maxBytes));
  return { bytes, source: "s3", label: reference };
}

async function readLocalFile(given: string, access: LocalFileAccess, maxBytes: number): Promise<Buffer> {
  const shown = JSON.stringify(given);
  if (access.mode === "none") {
    throw refuse(
      `${shown} is a local path, and this server reads no local files: set REFERENCE_IMAGE_ROOT to the directory it may read from, or send an https URL, data: URI or s3:// URI`,
    );
  }
  let target: string;
  if (access.mode === "root") {
    if (given.split(/[\\/]/).includes("..")) {
      throw refuse(`must be a path under REFERENCE_IMAGE_ROOT without ".." segments; got ${shown}`);
    }
    const root = await realpath(access.root).catch((error: unknown) => {
      throw new ConfigurationError(`REFERENCE_IMAGE_ROOT ${access.root} cannot be read`, {
        code: "reference_image_root_missing",
        cause: error,
      });
    });
    // Symlinks are resolved on both sides before comparing, so a link inside the root cannot lead out of it.
    target = await realFile(path.resolve(root, given), shown);
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw refuse(`must be a file under REFERENCE_IMAGE_ROOT; ${shown} resolves outside it`);
    }
  } else {
    target = await realFile(path.resolve(given), shown);
  }

  let handle: FileHandle;
  try {
    // The real path is opened without following a final symlink, so a link swapped in after the check is refused.
    handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw refuse(`${shown} cannot be opened (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw refuse(`must name a regular file; ${shown} is not one`);
    if (stats.size > maxBytes) {
      throw refuse(`must be at most ${formatBytes(maxBytes)}; ${shown} has ${formatBytes(stats.size)}`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function realFile(candidate: string, shown: string): Promise<string> {
  try {
    return await realpath(candidate);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(
      code === "ENOENT" ? `${shown} does not exist` : `${shown} cannot be read (${code ?? "error"})`,
    );
  }
}

interface InspectedImage {
  bytes: Buffer;
  format: ReferenceImageFormat;
  width: number;
  height: number;
  warnings: GenerationWarning[];
  /** True when `bytes` are the input bytes, untouched. */
  unchanged: boolean;
}

type Sniffed = ReferenceImageFormat | "bmp";

/** The format named by the magic bytes; nothing else is handed to a decoder. */
function sniff(bytes: Buffer): Sniffed | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (
    bytes.length >= 8 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  ) {
    return "png";
  }
  if (
    bytes.length >= 12 &&
    bytes.toString("latin1", 0, 4) === "RIFF" &&
    bytes.toString("latin1", 8, 12) === "WEBP"
  ) {
    return "webp";
  }
  if (looksLikeBmp(bytes)) return "bmp";
  return undefined;
}

function checkSides(width: number, height: number, label: string): void {
  const ok = (side: number) => Number.isInteger(side) && side >= MIN_SIDE && side <= MAX_SIDE;
  if (!ok(width) || !ok(height)) {
    throw refuse(
      `width and height must each be ${MIN_SIDE} to ${MAX_SIDE} pixels; ${label} is ${width}x${height}`,
    );
  }
}

const decodeOptions = { failOn: "error", limitInputPixels: REFERENCE_IMAGE_MAX_PIXELS } as const;

async function inspect(
  bytes: Buffer,
  label: string,
  options: ResolveReferenceImageOptions,
): Promise<InspectedImage> {
  const format = sniff(bytes);
  if (!format)
    throw refuse(`must be a JPEG, PNG, BMP or WEBP image; ${label} is none of these (checked by content)`);
  if (format === "bmp") return inspectBmp(bytes, label, options);

  // Header only, with no pixel limit, so that an oversized declaration is refused by our rule before any decoding.
  const metadata = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch((error: unknown) => {
      throw refuse(`${label} is not a readable ${format.toUpperCase()} image (${(error as Error).message})`);
    });
  if (metadata.format !== format) {
    throw refuse(`${label} starts like ${format.toUpperCase()} but does not parse as one`);
  }
  const { width, height } = metadata.autoOrient;
  checkSides(width, height, label);

  const warnings: GenerationWarning[] = [];
  const flatten = format === "png" && metadata.hasAlpha;
  const orientation = metadata.orientation ?? 1;
  const rotate = orientation !== 1;
  if (flatten) {
    warnings.push({
      field: FIELD,
      requested: "png with alpha channel",
      applied: "png without alpha channel",
      reason: "the API accepts PNG only without an alpha channel, so the image was flattened onto white",
    });
  }
  if (rotate) {
    warnings.push({
      field: FIELD,
      requested: `exif orientation ${orientation}`,
      applied: "exif orientation 1",
      reason:
        "the EXIF orientation was applied to the pixels, so the provider sees the image the way viewers do",
    });
  }

  try {
    if (!flatten && !rotate) {
      // Decode everything (at a small size) once: truncated or corrupt data fails here, not at the provider.
      await sharp(bytes, decodeOptions).resize(64, 64, { fit: "inside" }).raw().toBuffer();
      return { bytes, format, width, height, warnings, unchanged: true };
    }
    let pipeline = sharp(bytes, decodeOptions).autoOrient();
    if (flatten) pipeline = pipeline.flatten({ background: "#ffffff" });
    const encoded =
      format === "jpeg"
        ? pipeline.jpeg({ quality: REENCODE_JPEG_QUALITY })
        : format === "webp"
          ? pipeline.webp({ quality: REENCODE_JPEG_QUALITY })
          : pipeline.png();
    return { bytes: await encoded.toBuffer(), format, width, height, warnings, unchanged: false };
  } catch (error) {
    throw refuse(
      `${label} cannot be decoded: the ${format.toUpperCase()} data is truncated or corrupt (${(error as Error).message})`,
    );
  }
}

/** One BMP in on stdin, one PNG out on stdout; the same arguments work with ffmpeg 4 (2018) and 5. */
const BMP_TO_PNG = "-v error -f bmp_pipe -i pipe:0 -frames:v 1 -f image2pipe -c:v png pipe:1".split(" ");

async function inspectBmp(
  bytes: Buffer,
  label: string,
  { ffmpegPath, signal }: ResolveReferenceImageOptions,
): Promise<InspectedImage> {
  // The declared size is checked before ffmpeg sees a byte: the 240..8000 rule is also the decompression-bomb cap.
  let header: BmpHeader;
  try {
    header = readBmpHeader(bytes);
  } catch (error) {
    throw refuse(`${label} is not a usable BMP image: ${(error as Error).message}`);
  }
  checkSides(header.width, header.height, label);
  if (!ffmpegPath) {
    throw refuse(
      `${label} is a BMP image, and BMP needs ffmpeg (to convert it to PNG), which is not available here: send a JPEG, PNG or WEBP image instead`,
    );
  }
  let png: Buffer;
  try {
    png = await runFfmpeg(BMP_TO_PNG, { ffmpegPath, signal, input: bytes, captureOutput: true });
  } catch (error) {
    // An abort is the caller's, and a binary that does not start is no fault of the image: neither is refused.
    if (!(error instanceof FfmpegFailure) || error.aborted || error.exitCode === null) throw error;
    const reason = error.stderrTail.split("\n").at(-1) || `ffmpeg exited with code ${error.exitCode}`;
    throw refuse(`${label} cannot be decoded: the BMP data is truncated or corrupt (${reason})`);
  }
  const metadata = await sharp(png, decodeOptions)
    .metadata()
    .catch(() => undefined);
  if (metadata?.width !== header.width || metadata.height !== header.height) {
    throw refuse(
      `${label} cannot be decoded: the BMP data does not match its ${header.width}x${header.height} header`,
    );
  }

  const warnings: GenerationWarning[] = [
    {
      field: FIELD,
      requested: "bmp",
      applied: "png",
      reason:
        "BMP is converted to PNG losslessly (same pixels, smaller upload), so sha256 is that of the PNG",
    },
  ];
  // ffmpeg keeps an alpha channel (32-bit BMPs, and palettes, which it writes with a transparency chunk): the API
  // takes PNG without one. Fully opaque alpha is dropped silently; anything else is flattened onto white and reported.
  if (metadata.hasAlpha) {
    const { isOpaque } = await sharp(png, decodeOptions).stats();
    png = await sharp(png, decodeOptions).flatten({ background: "#ffffff" }).png().toBuffer();
    if (!isOpaque) {
      warnings.push({
        field: FIELD,
        requested: "bmp with alpha channel",
        applied: "png without alpha channel",
        reason: "transparent pixels were flattened onto white",
      });
    }
  }
  return {
    bytes: png,
    format: "png",
    width: header.width,
    height: header.height,
    warnings,
    unchanged: false,
  };
}
