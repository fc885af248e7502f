import sharp from "sharp";
import { type Dispatcher, request } from "undici";
import { WAN_IMAGE_RULES } from "../contract/wan-model.ts";
import { SandboxApiError } from "./sandbox-http.ts";

/** Image formats the model accepts (dashscope.md 2.3). */
export type SandboxImageFormat = (typeof WAN_IMAGE_RULES.formats)[number];

/** A submitted first-frame image, read and inspected. */
export interface SandboxImage {
  bytes: Buffer;
  format: SandboxImageFormat;
  width: number;
  height: number;
  /** How it arrived: an `oss://` temporary upload, a `data:` URI or an http(s) download. */
  source: "oss" | "data" | "url";
}

export interface ImageSourceOptions {
  /** Whether the submit carried `X-DashScope-OssResourceResolve: enable`. */
  ossResolveEnabled: boolean;
  /**
   * Bytes of an upload made through this server's upload target, by its `oss://` URL; undefined when there is none
   * usable by the submit (unknown, expired, or bound to another model).
   */
  readUpload(ossUrl: string): Promise<Buffer | undefined>;
  /** Whether the sandbox may download from this URL's host (`allowImageHosts`). */
  isHostAllowed(url: URL): boolean;
  /** The HTTP client for downloads. */
  dispatcher: Dispatcher;
  /** Download time limit in milliseconds. Default 10 000. */
  downloadTimeoutMs?: number;
  /**
   * `report`: an image outside 240-8000 px is returned with `sizeError` set instead of refused (a parameter error
   * that ends the task FAILED, `parameterErrors: "fail-task"`). Default `reject`: 400 `InvalidParameter`.
   */
  sizeErrors?: "reject" | "report";
}

const DATA_URI_TYPES: Record<string, SandboxImageFormat> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/png": "png",
  "image/bmp": "bmp",
  "image/webp": "webp",
};

const unableToDownload = () =>
  new SandboxApiError(
    400,
    "InvalidParameter.DataInspection",
    "Unable to download the media resource during the data inspection process.",
  );
const downloadTimedOut = () =>
  new SandboxApiError(
    400,
    "InvalidParameter.DataInspection",
    "Download the media resource timed out during the data inspection process.",
  );
const unsupportedFormat = () =>
  new SandboxApiError(
    400,
    "InvalidParameter.DataInspection",
    "The media format is not supported or incorrect for the data inspection.",
  );

/**
 * Which hosts the sandbox downloads `img_url` from: `host` (any port) or `host:port` entries, IPv6 in brackets,
 * compared as the stage's `VIDEO_GEN_ALLOW_HOSTS` compares them. Nothing else, loopback included: a test server is
 * reachable only when listed. Throws on an entry that is not `host[:port]`.
 */
export function createImageHostRule(entries: readonly string[]): (url: URL) => boolean {
  const normalize = (host: string) => host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const allowed = entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(entry.trim());
    if (!match?.[1]) throw new Error(`allowImageHosts entries must be host or host:port; got "${entry}"`);
    return { host: normalize(match[1]), port: match[2] };
  });
  return (url) => {
    const host = normalize(url.hostname);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return allowed.some((entry) => entry.host === host && (entry.port === undefined || entry.port === port));
  };
}

/** Reads the image an `img_url` names, the way the service would, and checks format and size. */
export async function loadSubmittedImage(
  imgUrl: string,
  options: ImageSourceOptions,
): Promise<SandboxImage & { sizeError?: string }> {
  const { bytes, source } = await readImageBytes(imgUrl, options);
  if (bytes.length > WAN_IMAGE_RULES.maxBytes) {
    throw new SandboxApiError(
      400,
      "InvalidParameter.DataInspection",
      "The size of the media resource exceeds the limit (20 MB).",
    );
  }
  const { format, width, height } = await inspectImage(bytes);
  const { minSide, maxSide } = WAN_IMAGE_RULES;
  if ([width, height].some((side) => side < minSide || side > maxSide)) {
    const message = `The image size is not supported: width and height must be within [${minSide}, ${maxSide}] pixels.`;
    if (options.sizeErrors !== "report") throw new SandboxApiError(400, "InvalidParameter", message);
    return { bytes, format, width, height, source, sizeError: message };
  }
  return { bytes, format, width, height, source };
}

async function readImageBytes(
  imgUrl: string,
  options: ImageSourceOptions,
): Promise<{ bytes: Buffer; source: SandboxImage["source"] }> {
  if (imgUrl.startsWith("data:")) {
    const match = /^data:([\w/+.-]+);base64,(.*)$/s.exec(imgUrl);
    if (!match?.[1] || match[2] === undefined || !DATA_URI_TYPES[match[1].toLowerCase()])
      throw unsupportedFormat();
    return { bytes: Buffer.from(match[2], "base64"), source: "data" };
  }
  if (imgUrl.startsWith("oss://")) {
    // Without the resolve header the service treats oss:// as an unreachable URL.
    if (!options.ossResolveEnabled) throw unableToDownload();
    const bytes = await options.readUpload(imgUrl);
    if (!bytes) throw unableToDownload();
    return { bytes, source: "oss" };
  }
  let url: URL;
  try {
    url = new URL(imgUrl);
  } catch {
    throw new SandboxApiError(400, "InvalidParameter", "The provided URL does not appear to be valid.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SandboxApiError(400, "InvalidParameter", "The provided URL does not appear to be valid.");
  }
  // Only listed hosts: any other looks like a URL the service could not reach (a presigned URL keeps its query).
  if (!options.isHostAllowed(url)) throw unableToDownload();
  return { bytes: await download(url, options), source: "url" };
}

async function download(url: URL, options: ImageSourceOptions): Promise<Buffer> {
  const timeoutMs = options.downloadTimeoutMs ?? 10_000;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(url, { method: "GET", dispatcher: options.dispatcher, signal });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw unableToDownload();
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += (chunk as Buffer).length;
      if (total > WAN_IMAGE_RULES.maxBytes + 1) {
        response.body.destroy();
        break;
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof SandboxApiError) throw error;
    throw signal.aborted ? downloadTimedOut() : unableToDownload();
  }
}

/** Format from the magic bytes, size from the header (sharp; BMP by hand, as libvips has no BMP loader). */
export async function inspectImage(
  bytes: Buffer,
): Promise<{ format: SandboxImageFormat; width: number; height: number }> {
  if (bytes.length >= 26 && bytes.toString("latin1", 0, 2) === "BM") {
    const headerSize = bytes.readUInt32LE(14);
    const width = headerSize === 12 ? bytes.readUInt16LE(18) : bytes.readInt32LE(18);
    const height = headerSize === 12 ? bytes.readUInt16LE(20) : Math.abs(bytes.readInt32LE(22));
    if (width <= 0 || height <= 0) throw unsupportedFormat();
    return { format: "bmp", width, height };
  }
  try {
    const metadata = await sharp(bytes).metadata();
    const format = metadata.format;
    if ((format === "jpeg" || format === "png" || format === "webp") && metadata.width && metadata.height) {
      return { format, width: metadata.width, height: metadata.height };
    }
  } catch {
    // Not an image sharp can read: reported below like any other unsupported input.
  }
  throw unsupportedFormat();
}
