import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSafeFetcher } from "../../src/net/safe-fetch.ts";
import { createUrlGuard } from "../../src/net/url-guard.ts";
import { createLocalObjectStore } from "../../src/storage/index.ts";
import { startHttpFileServer, type TestHttpServer } from "../helpers/http-file-server.ts";
import { makeTestMp4, paddedMp4Stream } from "../helpers/make-test-mp4.ts";

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("local object store", () => {
  let server: TestHttpServer;
  let rootDir: string;
  let clip: Buffer;
  let clipPath: string;

  function store(maxVideoBytes = 100 * MiB) {
    return createLocalObjectStore({
      rootDir,
      maxVideoBytes,
      fetcher: createSafeFetcher({
        guard: createUrlGuard({ allowHosts: [`127.0.0.1:${server.port}`] }),
        maxBytes: 100 * MiB,
      }),
    });
  }

  /** Every file under `rootDir/videos`, temporary ones included. */
  /** Writes a stream to a new temporary file under rootDir and returns its path. */
  async function writeTemporary(source: NodeJS.ReadableStream): Promise<string> {
    const path = join(rootDir, `source-${Date.now()}-${Math.random().toString(36).slice(2)}.mp4`);
    await pipeline(source, createWriteStream(path));
    return path;
  }

  async function videoFiles(): Promise<string[]> {
    return (await readdir(join(rootDir, "videos")).catch(() => [])).sort();
  }

  beforeAll(async () => {
    rootDir = await mkdtemp(join(tmpdir(), "local-store-"));
    clipPath = await makeTestMp4({ durationSeconds: 2, fps: 30, audio: true, faststart: false });
    clip = await readFile(clipPath);
    const head = await readFile(await makeTestMp4({ faststart: true }));
    server = await startHttpFileServer({
      "/clip.mp4": { file: clipPath },
      "/reset.mp4": {
        stream: () => paddedMp4Stream(head, 8 * MiB),
        length: 8 * MiB,
        resetAfterBytes: 3 * MiB,
      },
      "/not-mp4.bin": { bytes: Buffer.from("<html>denied</html>") },
      "/big.mp4": { stream: () => paddedMp4Stream(head, 8 * MiB), omitLength: true },
      // About 20 s for 8 MiB: slow enough to kill the copier midway.
      "/slow.mp4": { stream: () => paddedMp4Stream(head, 8 * MiB), length: 8 * MiB, chunkDelayMs: 150 },
    });
  });

  afterAll(async () => {
    await server?.close();
    await rm(rootDir, { recursive: true, force: true });
  });

  it("copies under rootDir/<key> with a file:// URI and URL", async () => {
    const stored = await store().copyFromUrl(server.url("/clip.mp4"), "videos/abc.mp4");
    const path = join(rootDir, "videos", "abc.mp4");
    expect(stored).toMatchObject({
      key: "videos/abc.mp4",
      uri: pathToFileURL(path).href,
      url: pathToFileURL(path).href,
      bytes: clip.byteLength,
      sha256: sha256(clip),
      contentType: "video/mp4",
      media: { fps: 30, frames: 60, hasAudio: true },
    });
    expect(fileURLToPath(stored.uri)).toBe(path);
    expect(sha256(await readFile(path))).toBe(sha256(clip));
    expect(await store().presign("videos/abc.mp4", 60)).toBe(stored.url);
  });

  it.each([
    ["/reset.mp4", { retryable: true }],
    ["/not-mp4.bin", { code: "not_mp4", retryable: false }],
  ])("leaves no file, final or temporary, when %s fails", async (path, expected) => {
    await expect(store().copyFromUrl(server.url(path), "videos/failed.mp4")).rejects.toMatchObject(expected);
    expect((await videoFiles()).filter((name) => name.includes("failed"))).toEqual([]);
  });

  it("enforces the size cap while streaming", async () => {
    await expect(
      store(4 * MiB).copyFromUrl(server.url("/big.mp4"), "videos/capped.mp4"),
    ).rejects.toMatchObject({
      code: "too_large",
    });
    expect((await videoFiles()).filter((name) => name.includes("capped"))).toEqual([]);
  });

  it("overwrites an existing key", async () => {
    await store().putBytes("videos/over.mp4", new Uint8Array([1, 2, 3]), "video/mp4");
    const stored = await store().putVideoFile(clipPath, "videos/over.mp4");
    expect(sha256(await readFile(join(rootDir, "videos", "over.mp4")))).toBe(stored.sha256);
  });

  it("reports existence, deletes, round-trips small objects and refuses escaping keys", async () => {
    const objects = store();
    expect(await objects.exists("images/a.png")).toBe(false);
    await objects.putBytes("images/a.png", new Uint8Array([9, 8, 7]), "image/png");
    expect(await objects.exists("images/a.png")).toBe(true);
    expect(Array.from(await objects.getBytes("images/a.png", 3))).toEqual([9, 8, 7]);
    await expect(objects.getBytes("images/a.png", 2)).rejects.toMatchObject({ code: "too_large" });
    await objects.delete("images/a.png");
    expect(await objects.exists("images/a.png")).toBe(false);
    await expect(objects.putBytes("../outside.png", new Uint8Array([1]), "image/png")).rejects.toMatchObject({
      code: "invalid_key",
    });
    await expect(objects.exists("/etc/passwd")).rejects.toMatchObject({ code: "invalid_key" });
  });

  describe("reads", () => {
    const collect = async (body: AsyncIterable<Buffer>) => {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk);
      return Buffer.concat(chunks);
    };

    it("stats an object: size and the content type its extension names; null when absent", async () => {
      const objects = store();
      await objects.putVideoFile(clipPath, "videos/stat.mp4");
      await objects.putBytes("posters/stat.webp", new Uint8Array([1, 2, 3]), "image/webp");
      expect(await objects.stat("videos/stat.mp4")).toEqual({
        bytes: clip.byteLength,
        contentType: "video/mp4",
      });
      expect(await objects.stat("posters/stat.webp")).toEqual({ bytes: 3, contentType: "image/webp" });
      expect(await objects.stat("videos/absent.mp4")).toBeNull();
      // A directory is not an object.
      expect(await objects.stat("videos")).toBeNull();
    });

    it("streams a whole object and exact byte ranges, clamping an end past the last byte", async () => {
      const objects = store();
      await objects.putVideoFile(clipPath, "videos/range.mp4");
      const whole = await objects.openRead("videos/range.mp4");
      expect(whole).toMatchObject({ bytes: clip.byteLength, contentType: "video/mp4" });
      expect(whole.range).toBeUndefined();
      expect(sha256(await collect(whole.body))).toBe(sha256(clip));

      const middle = await objects.openRead("videos/range.mp4", { start: 100, end: 1099 });
      expect(middle).toMatchObject({ bytes: clip.byteLength, range: { start: 100, end: 1099 } });
      expect((await collect(middle.body)).equals(clip.subarray(100, 1100))).toBe(true);

      const tail = await objects.openRead("videos/range.mp4", { start: clip.byteLength - 10, end: 10 ** 12 });
      expect(tail.range).toEqual({ start: clip.byteLength - 10, end: clip.byteLength - 1 });
      expect((await collect(tail.body)).equals(clip.subarray(clip.byteLength - 10))).toBe(true);
    });

    it("does not read the object into memory: the first chunk of 8 MiB is a small part of it", async () => {
      const objects = store();
      const head = await readFile(await makeTestMp4({ faststart: true }));
      await objects.putVideoFile(await writeTemporary(paddedMp4Stream(head, 8 * MiB)), "videos/large.mp4");
      const opened = await objects.openRead("videos/large.mp4");
      expect(opened.bytes).toBe(8 * MiB);
      const iterator = opened.body[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as Buffer;
      expect(first.byteLength).toBeLessThanOrEqual(256 * 1024);
      opened.body.destroy();
    });

    it("fails a missing object with object_not_found and a bad range with a permanent error", async () => {
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
      await expect(objects.openRead("images/r.png", { start: 3, end: 1 })).rejects.toMatchObject({
        code: "invalid_range",
        retryable: false,
      });
      await expect(objects.openRead("../escape.png")).rejects.toMatchObject({ code: "invalid_key" });
    });
  });

  it("a copier killed mid-copy leaves nothing under the final name, and a rerun completes", async () => {
    const script = `
      import { createLocalObjectStore } from ${JSON.stringify(new URL("../../src/storage/index.ts", import.meta.url).href)};
      import { createSafeFetcher } from ${JSON.stringify(new URL("../../src/net/safe-fetch.ts", import.meta.url).href)};
      import { createUrlGuard } from ${JSON.stringify(new URL("../../src/net/url-guard.ts", import.meta.url).href)};
      const fetcher = createSafeFetcher({ guard: createUrlGuard({ allowHosts: [${JSON.stringify(`127.0.0.1:${server.port}`)}] }), maxBytes: 1e9 });
      await createLocalObjectStore({ rootDir: ${JSON.stringify(rootDir)}, fetcher, maxVideoBytes: 1e9 })
        .copyFromUrl(${JSON.stringify(server.url("/slow.mp4"))}, "videos/crash.mp4");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      // Wait until the temporary file holds some data, then kill the copier without warning.
      const deadline = Date.now() + 20_000;
      let partialSize = 0;
      while (Date.now() < deadline && partialSize < 256 * 1024) {
        await sleep(100);
        const partial = (await videoFiles()).find(
          (name) => name.startsWith(".crash.mp4.") && name.endsWith(".partial"),
        );
        if (partial)
          partialSize = (await stat(join(rootDir, "videos", partial)).catch(() => ({ size: 0 }))).size;
      }
      expect(partialSize).toBeGreaterThan(0);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    expect(await videoFiles()).not.toContain("crash.mp4");
    expect(await store().exists("videos/crash.mp4")).toBe(false);

    server.route("/fast.mp4", { file: clipPath });
    const stored = await store().copyFromUrl(server.url("/fast.mp4"), "videos/crash.mp4");
    expect(sha256(await readFile(join(rootDir, "videos", "crash.mp4")))).toBe(stored.sha256);
  }, 60_000);
});
