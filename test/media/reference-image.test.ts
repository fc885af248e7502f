import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors/configuration-error.ts";
import { InputError } from "../../src/errors/input-error.ts";
import { StorageError } from "../../src/errors/storage-error.ts";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";
import { type ResolveReferenceImageOptions, resolveReferenceImage } from "../../src/media/reference-image.ts";
import { FfmpegFailure } from "../../src/media/run-ffmpeg.ts";
import { encodeBmp24 } from "../helpers/make-bmp.ts";

const ffmpegPath = locateFfmpeg().ffmpeg!;
/** BMP goes through ffmpeg: the system's (CI installs Debian's) and the npm installer's much older static build. */
const ffmpegBuilds = [
  ...new Set([
    ffmpegPath,
    (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path,
  ]),
];

const solid = (width: number, height: number, channels: 3 | 4 = 3) =>
  sharp({
    create: {
      width,
      height,
      channels,
      background: channels === 4 ? { r: 200, g: 40, b: 40, alpha: 0.5 } : "#2a7",
    },
  });

/** A 24-bit BMP whose pixel (x, y) is (x, y, 128) modulo 256. */
const makeBmp24 = (width: number, height: number) =>
  encodeBmp24(width, height, (x, y) => [x % 256, y % 256, 128]);

/**
 * A bottom-up 32-bit BMP of one colour (r, g, b, alpha). With `alphaMask` it has a v4 header declaring bit fields and
 * an alpha mask; without, it is a plain 40-byte header whose fourth byte is formally unused.
 */
function makeBmp32(width: number, height: number, [r, g, b, alpha]: number[], alphaMask: boolean): Buffer {
  const headerSize = alphaMask ? 108 : 40;
  const offset = 14 + headerSize;
  const file = Buffer.alloc(offset + width * 4 * height);
  file.write("BM", 0, "latin1");
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(offset, 10);
  file.writeUInt32LE(headerSize, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(32, 28);
  if (alphaMask) {
    file.writeUInt32LE(3, 30); // BI_BITFIELDS
    for (const [index, mask] of [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000].entries()) {
      file.writeUInt32LE(mask, 54 + 4 * index);
    }
    file.write("BGRs", 70, "latin1");
  }
  for (let pixel = 0; pixel < width * height; pixel++) file.set([b!, g!, r!, alpha!], offset + pixel * 4);
  return file;
}

/** A top-down 8-bit palette BMP: two colours in vertical stripes. */
function makeBmp8(width: number, height: number): Buffer {
  const rowBytes = Math.ceil(width / 4) * 4;
  const offset = 54 + 2 * 4;
  const file = Buffer.alloc(offset + rowBytes * height);
  file.write("BM", 0, "latin1");
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(offset, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(-height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(8, 28);
  file.writeUInt32LE(2, 46);
  file.set([255, 0, 0, 0, 0, 0, 255, 0], 54); // entry 0 blue, entry 1 red (stored B, G, R, 0)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) file[offset + y * rowBytes + x] = Math.floor(x / 10) % 2;
  }
  return file;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let directory: string;
let root: string;
let jpeg: Buffer;
let png: Buffer;
let server: Server;
let baseUrl: string;
const served = new Map<string, Buffer>();

/** A plain fetcher with the contract's size cap; production passes the SSRF-checked one. */
const fetchBytes: ResolveReferenceImageOptions["fetchBytes"] = async (url, maxBytes, signal) => {
  const response = await fetch(url, { signal: signal ?? AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw new Error("too large");
  return bytes;
};

const options = (overrides: Partial<ResolveReferenceImageOptions> = {}): ResolveReferenceImageOptions => ({
  fetchBytes,
  localFiles: { mode: "any" },
  ffmpegPath,
  ...overrides,
});

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as InputError).issues[0]!.field).toBe("reference_image");
  expect((error as InputError).retryable).toBe(false);
  return error as InputError;
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "reference-image-"));
  root = path.join(directory, "root");
  await mkdir(path.join(root, "nested"), { recursive: true });
  jpeg = await solid(320, 240).jpeg().toBuffer();
  png = await solid(400, 300).png().toBuffer();
  await writeFile(path.join(root, "nested", "frame.jpg"), jpeg);
  await writeFile(path.join(directory, "outside.jpg"), jpeg);
  await symlink(path.join(directory, "outside.jpg"), path.join(root, "escape.jpg"));
  await symlink(path.join(root, "nested", "frame.jpg"), path.join(root, "inner-link.jpg"));
  server = createServer((request, response) => {
    const body = served.get(request.url ?? "");
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    // A lying Content-Type: the content decides, not the header.
    response.writeHead(200, { "content-type": "text/plain" }).end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("resolveReferenceImage accepts", () => {
  it("an http URL, downloaded and sniffed by content (no publicUrl: the provider needs https)", async () => {
    served.set("/frame.jpg.txt", jpeg);
    const image = await resolveReferenceImage(`${baseUrl}/frame.jpg.txt`, options());
    expect(image).toMatchObject({
      format: "jpeg",
      contentType: "image/jpeg",
      width: 320,
      height: 240,
      source: "url",
    });
    expect(image.publicUrl).toBeUndefined();
    expect(image.sha256).toBe(sha256(jpeg));
    expect(Buffer.from(image.bytes).equals(jpeg)).toBe(true);
    expect(image.warnings).toEqual([]);
  });

  it("an https URL through the injected fetcher, keeping publicUrl for the provider", async () => {
    const url = "https://images.example/frame.png?X-Amz-Signature=topsecret";
    const image = await resolveReferenceImage(url, options({ fetchBytes: async () => png }));
    expect(image).toMatchObject({ format: "png", width: 400, height: 300, source: "url", publicUrl: url });
  });

  it("a data: URI, and gives the same sha256 as the same bytes sent directly", async () => {
    const image = await resolveReferenceImage(`data:image/png;base64,${png.toString("base64")}`, options());
    expect(image).toMatchObject({ format: "png", source: "data", sha256: sha256(png) });
    const again = await resolveReferenceImage(new Uint8Array(png), options());
    expect(again).toMatchObject({ source: "bytes", sha256: image.sha256 });
  });

  it("an s3:// URI through the injected reader", async () => {
    const reads: string[] = [];
    const image = await resolveReferenceImage(
      "s3://frames/shots/a b.jpg",
      options({
        readS3Object: async (bucket, key, maxBytes) => {
          reads.push(`${bucket}|${key}|${maxBytes}`);
          return jpeg;
        },
      }),
    );
    expect(image).toMatchObject({ source: "s3", format: "jpeg" });
    expect(reads).toEqual([`frames|shots/a b.jpg|${20 * 1024 * 1024}`]);
  });

  it("local paths and file:// URLs (CLI mode), and paths under the root (server mode)", async () => {
    const file = path.join(root, "nested", "frame.jpg");
    expect((await resolveReferenceImage(file, options())).source).toBe("path");
    expect((await resolveReferenceImage(pathToFileURL(file).href, options())).sha256).toBe(sha256(jpeg));
    const underRoot = options({ localFiles: { mode: "root", root } });
    expect((await resolveReferenceImage("nested/frame.jpg", underRoot)).width).toBe(320);
    expect((await resolveReferenceImage(file, underRoot)).width).toBe(320);
    expect((await resolveReferenceImage("inner-link.jpg", underRoot)).sha256).toBe(sha256(jpeg));
  });

  it("WEBP", async () => {
    const webp = await solid(500, 260).webp().toBuffer();
    expect(await resolveReferenceImage(webp, options())).toMatchObject({
      format: "webp",
      contentType: "image/webp",
    });
  });

  describe.each(ffmpegBuilds)("BMP through %s", (build) => {
    const withBuild = () => options({ ffmpegPath: build });
    const rawPixels = async (bytes: Uint8Array) => {
      const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(3);
      return (x: number, y: number) => [
        ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
      ];
    };

    it("24-bit and 8-bit palette, converted to PNG without alpha and with the same pixels", async () => {
      const image = await resolveReferenceImage(makeBmp24(300, 250), withBuild());
      expect(image).toMatchObject({ format: "png", contentType: "image/png", width: 300, height: 250 });
      expect(image.warnings.map((warning) => warning.applied)).toEqual(["png"]);
      expect(image.sha256).toBe(sha256(image.bytes));
      expect((await sharp(image.bytes).metadata()).format).toBe("png");
      const pixel = await rawPixels(image.bytes);
      expect(pixel(0, 0)).toEqual([0, 0, 128]);
      expect(pixel(299, 249)).toEqual([299 % 256, 249, 128]);

      // ffmpeg writes a palette PNG with a transparency chunk: opaque, so dropped without a warning.
      const striped = await resolveReferenceImage(makeBmp8(260, 240), withBuild());
      expect(striped.warnings.map((warning) => warning.applied)).toEqual(["png"]);
      expect((await sharp(striped.bytes).metadata()).hasAlpha).toBe(false);
      const stripe = await rawPixels(striped.bytes);
      expect(stripe(0, 0)).toEqual([0, 0, 255]);
      expect(stripe(10, 239)).toEqual([255, 0, 0]);
    });

    it("32-bit: an unused fourth byte is no alpha; a real alpha channel is flattened onto white", async () => {
      const plain = await resolveReferenceImage(makeBmp32(260, 240, [30, 20, 10, 0], false), withBuild());
      expect(plain.warnings.map((warning) => warning.applied)).toEqual(["png"]);
      expect((await rawPixels(plain.bytes))(5, 5)).toEqual([30, 20, 10]);

      const opaque = await resolveReferenceImage(makeBmp32(260, 240, [200, 40, 40, 255], true), withBuild());
      expect(opaque.warnings.map((warning) => warning.applied)).toEqual(["png"]);
      expect((await rawPixels(opaque.bytes))(5, 5)).toEqual([200, 40, 40]);

      const half = await resolveReferenceImage(makeBmp32(260, 240, [200, 40, 40, 128], true), withBuild());
      expect(half.warnings.map((warning) => warning.requested)).toEqual(["bmp", "bmp with alpha channel"]);
      expect((await sharp(half.bytes).metadata()).hasAlpha).toBe(false);
      // 128/255 of (200, 40, 40) over white, to within a rounding step.
      const expected = [200, 40, 40].map((value) => value * (128 / 255) + 255 * (127 / 255));
      for (const [index, value] of (await rawPixels(half.bytes))(5, 5).entries()) {
        expect(Math.abs(value - expected[index]!)).toBeLessThanOrEqual(1);
      }
    });

    it("a truncated BMP is refused as truncated, not padded", async () => {
      const bmp = makeBmp24(300, 300);
      const truncated = bmp.subarray(0, Math.floor(bmp.length * 0.6));
      expect((await refusal(resolveReferenceImage(truncated, withBuild()))).message).toMatch(
        /cannot be decoded: the BMP data is truncated or corrupt/,
      );
    });
  });

  it("a PNG with alpha, flattened onto white with a warning and no publicUrl", async () => {
    const withAlpha = await solid(300, 300, 4).png().toBuffer();
    const image = await resolveReferenceImage(
      "https://images.example/alpha.png",
      options({ fetchBytes: async () => withAlpha }),
    );
    expect(image.format).toBe("png");
    expect(image.publicUrl).toBeUndefined();
    expect(image.warnings).toHaveLength(1);
    expect(image.warnings[0]).toMatchObject({
      field: "reference_image",
      applied: "png without alpha channel",
    });
    const metadata = await sharp(image.bytes).metadata();
    expect(metadata.hasAlpha).toBe(false);
    const { data } = await sharp(image.bytes).raw().toBuffer({ resolveWithObject: true });
    // Half of (200, 40, 40) over white, to within a rounding step.
    for (const [index, expected] of [227.5, 147.5, 147.5].entries()) {
      expect(Math.abs(data[index]! - expected)).toBeLessThan(1);
    }
    expect(image.sha256).toBe(sha256(image.bytes));
  });

  it("a JPEG with EXIF orientation 6, rotated into its pixels", async () => {
    const rotated = await solid(400, 300).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const image = await resolveReferenceImage(rotated, options());
    expect([image.width, image.height]).toEqual([300, 400]);
    const metadata = await sharp(image.bytes).metadata();
    expect([metadata.width, metadata.height, metadata.orientation ?? 1]).toEqual([300, 400, 1]);
    expect(image.warnings[0]?.requested).toBe("exif orientation 6");
  });
});

describe("resolveReferenceImage refuses", () => {
  it("images under 240 px or over 8000 px a side", async () => {
    const small = await solid(239, 600).png().toBuffer();
    expect((await refusal(resolveReferenceImage(small, options()))).message).toMatch(
      /240 to 8000 pixels.*239x600/,
    );
    const wide = await solid(8001, 240).jpeg().toBuffer();
    expect((await refusal(resolveReferenceImage(wide, options()))).message).toMatch(/8001x240/);
    await refusal(resolveReferenceImage(makeBmp24(200, 250), options()));
  });

  it("a decompression bomb: a PNG declaring 100000x100000 pixels, before decoding", async () => {
    const bomb = Buffer.from(png);
    bomb.writeUInt32BE(100_000, 16);
    bomb.writeUInt32BE(100_000, 20);
    const started = Date.now();
    expect((await refusal(resolveReferenceImage(bomb, options()))).message).toMatch(/100000x100000/);
    expect(Date.now() - started).toBeLessThan(2_000);
    const bmpBomb = makeBmp24(300, 300);
    bmpBomb.writeInt32LE(60_000, 18);
    // Refused on the header alone: ffmpeg, which would otherwise fail to start here, is never run.
    const noFfmpeg = options({ ffmpegPath: path.join(directory, "no-such-ffmpeg") });
    expect((await refusal(resolveReferenceImage(bmpBomb, noFfmpeg))).message).toMatch(/60000x300/);
  });

  it("BMP when no ffmpeg is configured, saying BMP needs ffmpeg", async () => {
    const error = await refusal(
      resolveReferenceImage(makeBmp24(300, 250), options({ ffmpegPath: undefined })),
    );
    expect(error.message).toMatch(/BMP needs ffmpeg/);
    // Other formats do not need it.
    expect((await resolveReferenceImage(jpeg, options({ ffmpegPath: undefined }))).format).toBe("jpeg");
  });

  it("BMP with an impossible bit depth or header, before decoding", async () => {
    const sevenBits = makeBmp24(300, 250);
    sevenBits.writeUInt16LE(7, 28);
    expect((await refusal(resolveReferenceImage(sevenBits, options()))).message).toMatch(/7 bits per pixel/);
    const oddHeader = makeBmp24(300, 250);
    oddHeader.writeUInt32LE(20, 14);
    expect((await refusal(resolveReferenceImage(oddHeader, options()))).message).toMatch(
      /unknown BMP header of 20 bytes/,
    );
  });

  it("nothing when aborted: the abort is passed on, not turned into a refusal", async () => {
    const error = await resolveReferenceImage(
      makeBmp24(300, 250),
      options({ signal: AbortSignal.abort() }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FfmpegFailure);
    expect((error as FfmpegFailure).aborted).toBe(true);
  });

  it("more bytes than the limit, from every source", async () => {
    const maxBytes = jpeg.length - 1;
    const message = new RegExp(`must be at most 0\\.0 MiB \\(${maxBytes} bytes\\)`);
    const limited = options({ maxBytes });
    expect((await refusal(resolveReferenceImage(jpeg, limited))).message).toMatch(message);
    const file = path.join(root, "nested", "frame.jpg");
    expect((await refusal(resolveReferenceImage(file, limited))).message).toMatch(message);
    const dataUri = `data:image/jpeg;base64,${jpeg.toString("base64")}`;
    const refused = await refusal(resolveReferenceImage(dataUri, limited));
    expect(refused.message).not.toContain(jpeg.toString("base64").slice(0, 40));
  });

  it("a data: URI over 20 MiB without decoding it", async () => {
    const huge = `data:image/png;base64,${"A".repeat(28 * 1024 * 1024)}`;
    const error = await refusal(resolveReferenceImage(huge, options()));
    expect(error.message).toMatch(/20\.0 MiB/);
    expect(error.message.length).toBeLessThan(300);
  });

  it("content that is not an image, whatever it claims to be", async () => {
    const text = Buffer.from("<html>not an image</html>");
    await refusal(resolveReferenceImage(`data:image/png;base64,${text.toString("base64")}`, options()));
    const gif = await sharp({ create: { width: 300, height: 300, channels: 3, background: "#000" } })
      .gif()
      .toBuffer();
    expect((await refusal(resolveReferenceImage(gif, options()))).message).toMatch(/JPEG, PNG, BMP or WEBP/);
    await refusal(resolveReferenceImage("data:text/plain;base64,aGVsbG8=", options()));
    await refusal(resolveReferenceImage("data:image/png;base64,@@@@", options()));
  });

  it("truncated JPEG, PNG and BMP files", async () => {
    for (const bytes of [jpeg, png, makeBmp24(300, 300)]) {
      const truncated = bytes.subarray(0, Math.floor(bytes.length * 0.6));
      expect((await refusal(resolveReferenceImage(truncated, options()))).message).toMatch(
        /truncated|corrupt|readable/,
      );
    }
  });

  it("local paths outside the root, with '..', through a symlink, or with no root configured", async () => {
    const underRoot = options({ localFiles: { mode: "root", root } });
    const outside = path.join(directory, "outside.jpg");
    expect((await refusal(resolveReferenceImage(outside, underRoot))).message).toMatch(/resolves outside/);
    expect((await refusal(resolveReferenceImage("nested/../../outside.jpg", underRoot))).message).toMatch(
      /"\.\."/,
    );
    expect((await refusal(resolveReferenceImage("escape.jpg", underRoot))).message).toMatch(
      /resolves outside/,
    );
    expect((await refusal(resolveReferenceImage("nested", underRoot))).message).toMatch(/regular file/);
    expect((await refusal(resolveReferenceImage("missing.jpg", underRoot))).message).toMatch(
      /does not exist/,
    );
    const none = options({ localFiles: { mode: "none" } });
    expect((await refusal(resolveReferenceImage(outside, none))).message).toMatch(/REFERENCE_IMAGE_ROOT/);
    await refusal(resolveReferenceImage(pathToFileURL(outside).href, none));
  });

  it("s3:// without a reader, as a configuration error naming S3_BUCKET", async () => {
    const error = await resolveReferenceImage("s3://frames/a.jpg", options()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/S3_BUCKET/);
  });

  it("other schemes", async () => {
    expect((await refusal(resolveReferenceImage("ftp://host/a.jpg", options()))).message).toMatch(/"ftp:"/);
  });

  it("a failed download, without the signed query in the message", async () => {
    const url = `${baseUrl}/missing.jpg?X-Amz-Signature=topsecret`;
    const error = await resolveReferenceImage(url, options()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).message).toMatch(/HTTP 404/);
    expect((error as StorageError).message).not.toContain("topsecret");
  });
});
