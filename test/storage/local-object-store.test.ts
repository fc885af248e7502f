import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
