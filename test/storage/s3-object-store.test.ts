import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../../src/errors/index.ts";
import { createSafeFetcher } from "../../src/net/safe-fetch.ts";
import { createUrlGuard } from "../../src/net/url-guard.ts";
import { createS3Client, createS3ObjectStore } from "../../src/storage/index.ts";
import { startHttpFileServer, type TestHttpServer } from "../helpers/http-file-server.ts";
import { makeTestMp4, paddedMp4Stream } from "../helpers/make-test-mp4.ts";
import { objectExists, pendingUploads, type S3TestTarget, s3TestTarget } from "../helpers/s3-test-target.ts";

const MiB = 1024 * 1024;

async function sha256Of(
  stream: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest("hex"), bytes };
}

describe("S3 object store", () => {
  let target: S3TestTarget;
  let server: TestHttpServer;
  let head: Buffer;
  let clipPath: string;
  let audioClipPath: string;

  function store(options: { maxVideoBytes?: number; prefix?: string; publicBaseUrl?: string } = {}) {
    return createS3ObjectStore({
      client: target.client,
      bucket: target.bucket,
      prefix: options.prefix ?? target.prefix,
      endpoint: target.endpoint,
      forcePathStyle: true,
      ...(options.publicBaseUrl ? { publicBaseUrl: options.publicBaseUrl } : {}),
      fetcher: createSafeFetcher({
        guard: createUrlGuard({ allowHosts: [`127.0.0.1:${server.port}`] }),
        maxBytes: 2 * 1024 * MiB,
      }),
      maxVideoBytes: options.maxVideoBytes ?? 1024 * MiB,
      partSizeBytes: 5 * MiB,
      queueSize: 4,
    });
  }

  /** Asserts a failed copy left nothing: no object at the key, no open multipart upload. */
  async function expectNothingLeft(key: string) {
    expect(await objectExists(target, `${target.prefix}${key}`)).toBe(false);
    expect(await pendingUploads(target)).toEqual([]);
  }

  beforeAll(async () => {
    target = s3TestTarget();
    clipPath = await makeTestMp4({ durationSeconds: 2, fps: 24, faststart: true });
    audioClipPath = await makeTestMp4({ durationSeconds: 2, fps: 30, audio: true, faststart: false });
    head = await readFile(clipPath);
    const notMp4 = Buffer.alloc(12 * MiB, 0x41);
    server = await startHttpFileServer({
      "/clip.mp4": { file: clipPath },
      "/audio-clip.mp4": { file: audioClipPath },
      "/big.mp4": { stream: () => paddedMp4Stream(head, 20 * MiB), length: 20 * MiB },
      "/reset.mp4": {
        stream: () => paddedMp4Stream(head, 20 * MiB),
        length: 20 * MiB,
        resetAfterBytes: 13 * MiB,
      },
      "/short.mp4": {
        stream: () => paddedMp4Stream(head, 20 * MiB),
        length: 20 * MiB,
        declaredLength: 21 * MiB,
      },
      "/not-mp4.bin": { bytes: notMp4 },
      "/chunked-big.mp4": { stream: () => paddedMp4Stream(head, 20 * MiB), omitLength: true },
      "/slow.mp4": { stream: () => paddedMp4Stream(head, 20 * MiB), length: 20 * MiB, chunkDelayMs: 5 },
      "/missing.mp4": { status: 404 },
    });
  });

  afterAll(async () => {
    await server?.close();
    target?.client.destroy();
  });

  it("copies an MP4 with its sha256, size and media, readable back byte for byte", async () => {
    const stored = await store().copyFromUrl(server.url("/clip.mp4"), "videos/clip.mp4");
    const expected = await sha256Of([head]);
    expect(stored).toMatchObject({
      key: "videos/clip.mp4",
      uri: `s3://${target.bucket}/${target.prefix}videos/clip.mp4`,
      url: `${target.endpoint}/${target.bucket}/${target.prefix}videos/clip.mp4`,
      bytes: expected.bytes,
      sha256: expected.sha256,
      contentType: "video/mp4",
      media: { width: 320, height: 240, frames: 48, fps: 24, hasAudio: false },
    });
    const object = await target.client.send(
      new GetObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}videos/clip.mp4` }),
    );
    expect(object.ContentType).toBe("video/mp4");
    expect(await sha256Of(object.Body as Readable)).toEqual(expected);
  });

  it("probes an MP4 whose moov comes last, with audio", async () => {
    const stored = await store().copyFromUrl(server.url("/audio-clip.mp4"), "videos/audio.mp4");
    expect(stored.media).toMatchObject({
      fps: 30,
      frames: 60,
      hasAudio: true,
      audioCodec: expect.stringMatching(/^mp4a/),
    });
    expect(stored.sha256).toBe((await sha256Of([await readFile(audioClipPath)])).sha256);
  });

  it("streams a 200 MiB object through multipart with bounded memory and exact integrity", async () => {
    const size = 200 * MiB;
    server.route("/huge.mp4", { stream: () => paddedMp4Stream(head, size), length: size });
    const expected = await sha256Of(paddedMp4Stream(head, size));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      const stored = await store().copyFromUrl(server.url("/huge.mp4"), "videos/huge.mp4");
      expect(stored.bytes).toBe(size);
      expect(stored.sha256).toBe(expected.sha256);
      expect(stored.media.frames).toBe(48);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - baseline).toBeLessThan(150 * MiB);
    const headResponse = await target.client.send(
      new HeadObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}videos/huge.mp4` }),
    );
    expect(headResponse.ContentLength).toBe(size);
    expect(await pendingUploads(target)).toEqual([]);
  }, 120_000);

  describe("a failed copy leaves nothing behind", () => {
    it("when the server resets the connection midway (after parts were uploaded)", async () => {
      const error = await store()
        .copyFromUrl(server.url("/reset.mp4"), "videos/reset.mp4")
        .catch((e) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect(error.retryable).toBe(true);
      await expectNothingLeft("videos/reset.mp4");
    });

    it("when fewer bytes than Content-Length arrive", async () => {
      await expect(store().copyFromUrl(server.url("/short.mp4"), "videos/short.mp4")).rejects.toMatchObject({
        name: "StorageError",
        retryable: true,
      });
      await expectNothingLeft("videos/short.mp4");
    });

    it("when the body is not an MP4", async () => {
      await expect(store().copyFromUrl(server.url("/not-mp4.bin"), "videos/not.mp4")).rejects.toMatchObject({
        code: "not_mp4",
        retryable: false,
      });
      await expectNothingLeft("videos/not.mp4");
    });

    it("when a body without Content-Length grows over the size cap", async () => {
      await expect(
        store({ maxVideoBytes: 12 * MiB }).copyFromUrl(server.url("/chunked-big.mp4"), "videos/capped.mp4"),
      ).rejects.toMatchObject({ code: "too_large", retryable: false });
      await expectNothingLeft("videos/capped.mp4");
    });

    it("when the declared length is over the size cap (refused before any upload)", async () => {
      await expect(
        store({ maxVideoBytes: 12 * MiB }).copyFromUrl(server.url("/big.mp4"), "videos/declared.mp4"),
      ).rejects.toMatchObject({ code: "too_large" });
      await expectNothingLeft("videos/declared.mp4");
    });

    it("when the caller aborts", async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 400);
      await expect(
        store().copyFromUrl(server.url("/slow.mp4"), "videos/aborted.mp4", { signal: controller.signal }),
      ).rejects.toMatchObject({ name: "StorageError", code: "aborted" });
      await expectNothingLeft("videos/aborted.mp4");
    });

    it("when the result URL is gone (404, not retryable)", async () => {
      await expect(
        store().copyFromUrl(server.url("/missing.mp4"), "videos/missing.mp4"),
      ).rejects.toMatchObject({
        code: "download_gone",
        retryable: false,
      });
      await expectNothingLeft("videos/missing.mp4");
    });
  });

  it("overwrites deterministically: a second copy to the same key replaces the first", async () => {
    const objects = store();
    await objects.copyFromUrl(server.url("/big.mp4"), "videos/same.mp4");
    const second = await objects.copyFromUrl(server.url("/audio-clip.mp4"), "videos/same.mp4");
    const object = await target.client.send(
      new GetObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}videos/same.mp4` }),
    );
    expect(await sha256Of(object.Body as Readable)).toEqual({ sha256: second.sha256, bytes: second.bytes });
  });

  it("stores a local file with putVideoFile", async () => {
    const stored = await store().putVideoFile(audioClipPath, "videos/from-file.mp4");
    expect(stored.media.hasAudio).toBe(true);
    expect(stored.bytes).toBe((await readFile(audioClipPath)).byteLength);
  });

  it("presigns a GET that returns the object", async () => {
    const objects = store();
    const stored = await objects.copyFromUrl(server.url("/clip.mp4"), "videos/presigned.mp4");
    const url = await objects.presign("videos/presigned.mp4", 300);
    expect(url).toContain("X-Amz-Signature=");
    const response = await request(url);
    expect(response.statusCode).toBe(200);
    expect((await sha256Of(response.body)).sha256).toBe(stored.sha256);
  });

  it("reports existence, deletes, and round-trips small objects", async () => {
    const objects = store();
    expect(await objects.exists("images/a.png")).toBe(false);
    await objects.putBytes("images/a.png", new Uint8Array([1, 2, 3, 4]), "image/png");
    expect(await objects.exists("images/a.png")).toBe(true);
    expect(Array.from(await objects.getBytes("images/a.png", 10))).toEqual([1, 2, 3, 4]);
    await expect(objects.getBytes("images/a.png", 3)).rejects.toMatchObject({ code: "too_large" });
    await objects.delete("images/a.png");
    expect(await objects.exists("images/a.png")).toBe(false);
    await expect(objects.getBytes("images/a.png", 10)).rejects.toMatchObject({
      code: "s3_not_found",
      retryable: false,
    });
  });

  describe("reads", () => {
    const collect = async (body: AsyncIterable<Buffer>) => {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk);
      return Buffer.concat(chunks);
    };

    it("stats an object: size and stored content type; null when absent", async () => {
      const objects = store();
      await objects.putVideoFile(clipPath, "videos/stat.mp4");
      await objects.putBytes("posters/stat.webp", new Uint8Array([1, 2, 3]), "image/webp");
      expect(await objects.stat("videos/stat.mp4")).toEqual({
        bytes: head.byteLength,
        contentType: "video/mp4",
      });
      expect(await objects.stat("posters/stat.webp")).toEqual({ bytes: 3, contentType: "image/webp" });
      expect(await objects.stat("videos/absent.mp4")).toBeNull();
    });

    it("streams a whole object and exact byte ranges (Range: bytes=start-end), clamping the end", async () => {
      const objects = store();
      await objects.putVideoFile(clipPath, "videos/range.mp4");
      const whole = await objects.openRead("videos/range.mp4");
      expect(whole).toMatchObject({ bytes: head.byteLength, contentType: "video/mp4" });
      expect(whole.range).toBeUndefined();
      expect((await collect(whole.body)).equals(head)).toBe(true);

      const middle = await objects.openRead("videos/range.mp4", { start: 100, end: 1099 });
      expect(middle).toMatchObject({ bytes: head.byteLength, range: { start: 100, end: 1099 } });
      expect((await collect(middle.body)).equals(head.subarray(100, 1100))).toBe(true);

      const tail = await objects.openRead("videos/range.mp4", { start: head.byteLength - 10, end: 10 ** 12 });
      expect(tail).toMatchObject({
        bytes: head.byteLength,
        range: { start: head.byteLength - 10, end: head.byteLength - 1 },
      });
      expect((await collect(tail.body)).equals(head.subarray(head.byteLength - 10))).toBe(true);
    });

    it("streams a 20 MiB object: the first chunk arrives long before the whole object", async () => {
      const objects = store();
      await objects.copyFromUrl(server.url("/big.mp4"), "videos/large.mp4");
      const opened = await objects.openRead("videos/large.mp4", { start: 5 * MiB, end: 20 * MiB - 1 });
      expect(opened).toMatchObject({ bytes: 20 * MiB, range: { start: 5 * MiB, end: 20 * MiB - 1 } });
      const iterator = opened.body[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as Buffer;
      expect(first.byteLength).toBeLessThan(4 * MiB);
      opened.body.destroy();
      const slice = await objects.openRead("videos/large.mp4", { start: 7 * MiB + 3, end: 8 * MiB + 2 });
      const full = await collect(paddedMp4Stream(head, 20 * MiB));
      expect((await collect(slice.body)).equals(full.subarray(7 * MiB + 3, 8 * MiB + 3))).toBe(true);
    });

    it("fails a missing object with object_not_found and a range past the end as not satisfiable", async () => {
      const objects = store();
      await expect(objects.openRead("videos/none.mp4")).rejects.toMatchObject({
        name: "StorageError",
        code: "object_not_found",
        retryable: false,
      });
      await objects.putBytes("images/r.png", new Uint8Array([1, 2, 3, 4]), "image/png");
      await expect(objects.openRead("images/r.png", { start: 4, end: 9 })).rejects.toMatchObject({
        code: "range_not_satisfiable",
        retryable: false,
      });
      await expect(objects.openRead("images/r.png", { start: -1, end: 2 })).rejects.toMatchObject({
        code: "invalid_range",
      });
    });
  });

  it("builds URIs and URLs from the prefix, public base, endpoint or AWS", () => {
    const fetcher = createSafeFetcher({ guard: createUrlGuard(), maxBytes: 1 });
    const base = { client: target.client, bucket: "media", prefix: "stage/", fetcher, maxVideoBytes: 1 };
    expect(createS3ObjectStore(base).uriFor("videos/a b.mp4")).toBe("s3://media/stage/videos/a b.mp4");
    expect(
      createS3ObjectStore({ ...base, publicBaseUrl: "https://cdn.example.com/v/" }).urlFor("videos/a.mp4"),
    ).toBe("https://cdn.example.com/v/stage/videos/a.mp4");
    expect(
      createS3ObjectStore({ ...base, endpoint: "http://127.0.0.1:7480", forcePathStyle: true }).urlFor(
        "videos/a b.mp4",
      ),
    ).toBe("http://127.0.0.1:7480/media/stage/videos/a%20b.mp4");
    expect(createS3ObjectStore({ ...base, endpoint: "https://s3.example.net" }).urlFor("videos/a.mp4")).toBe(
      "https://media.s3.example.net/stage/videos/a.mp4",
    );
    expect(createS3ObjectStore({ ...base, region: "eu-central-1" }).urlFor("videos/a.mp4")).toBe(
      "https://media.s3.eu-central-1.amazonaws.com/stage/videos/a.mp4",
    );
    expect(() => createS3ObjectStore(base).urlFor("../escape.mp4")).toThrow(/invalid object key/);
  });

  it("maps a missing bucket and bad credentials to permanent errors without secrets", async () => {
    const missingBucket = createS3ObjectStore({
      client: target.client,
      bucket: "no-such-bucket-here",
      fetcher: createSafeFetcher({ guard: createUrlGuard(), maxBytes: 1 }),
      maxVideoBytes: 1,
    });
    await expect(missingBucket.putBytes("x", new Uint8Array([1]), "text/plain")).rejects.toMatchObject({
      code: "s3_no_such_bucket",
      retryable: false,
    });
    const badClient = createS3Client({
      region: target.region,
      endpoint: target.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "WRONGKEY", secretAccessKey: "wrong-secret-value" },
    });
    const denied = createS3ObjectStore({
      client: badClient,
      bucket: target.bucket,
      fetcher: createSafeFetcher({ guard: createUrlGuard(), maxBytes: 1 }),
      maxVideoBytes: 1,
    });
    const error = await denied.putBytes("x", new Uint8Array([1]), "text/plain").catch((e) => e);
    badClient.destroy();
    expect(error).toMatchObject({ code: "s3_access_denied", retryable: false });
    expect(error.message).not.toContain("wrong-secret-value");
  });
});
