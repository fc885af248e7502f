import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createMp4Probe, probeMp4File, probeMp4Stream } from "../../src/media/mp4-probe.ts";
import { makeTestMp4, paddedMp4Stream } from "../helpers/make-test-mp4.ts";

/** Splits bytes into chunks of `size`, so box headers straddle chunk boundaries. */
function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += size)
    chunks.push(bytes.subarray(offset, offset + size));
  return Readable.from(chunks, { objectMode: false });
}

describe("mp4 probe on real ffmpeg files", () => {
  it.each([
    { fps: 24, audio: false, faststart: true },
    { fps: 24, audio: true, faststart: false },
    { fps: 30, audio: true, faststart: true },
    { fps: 30, audio: false, faststart: false },
  ])("measures %o", async (variant) => {
    const path = await makeTestMp4({ durationSeconds: 2, width: 320, height: 240, ...variant });
    const media = await probeMp4File(path);
    expect(media.fps).toBeCloseTo(variant.fps, 3);
    expect(media.frames).toBe(2 * variant.fps);
    expect(media.durationSeconds).toBeGreaterThanOrEqual(2);
    expect(media.durationSeconds).toBeLessThan(2.1);
    expect(media).toMatchObject({ width: 320, height: 240, hasAudio: variant.audio });
    expect(media.videoCodec).toMatch(/^avc1\./);
    if (variant.audio) expect(media.audioCodec).toMatch(/^mp4a\./);
    else expect(media.audioCodec).toBeUndefined();
    // Same answer whatever the chunking, including 7-byte chunks that split every box header.
    const bytes = await readFile(path);
    expect(await probeMp4Stream(chunked(bytes, 7))).toEqual(media);
  });

  it("measures a non-default size", async () => {
    const media = await probeMp4File(
      await makeTestMp4({ width: 640, height: 360, durationSeconds: 1, fps: 24 }),
    );
    expect(media).toMatchObject({ width: 640, height: 360, frames: 24 });
  });

  it("keeps memory bounded on a large body: only ftyp and moov are kept", async () => {
    const head = await readFile(await makeTestMp4({ faststart: true }));
    const before = process.memoryUsage().rss;
    const media = await probeMp4Stream(paddedMp4Stream(head, 64 * 1024 * 1024));
    expect(media.frames).toBe(48);
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });
});

describe("mp4 probe refusals", () => {
  it("refuses a body that does not start with ftyp at once", () => {
    const probe = createMp4Probe();
    expect(() => probe.push(Buffer.from("<html><body>Access denied</body></html>"))).toThrow(
      expect.objectContaining({ code: "not_mp4", retryable: false }),
    );
  });

  it("refuses an empty body", () => {
    expect(() => createMp4Probe().finish()).toThrow(/empty/);
  });

  it("refuses a truncated MP4", async () => {
    const bytes = await readFile(await makeTestMp4({ faststart: false }));
    await expect(
      probeMp4Stream(chunked(bytes.subarray(0, bytes.byteLength - 100), 4096)),
    ).rejects.toMatchObject({
      code: "not_mp4",
      message: expect.stringMatching(/ends inside a box/),
    });
  });

  it("refuses an MP4 without a moov box", async () => {
    const bytes = await readFile(await makeTestMp4({ faststart: false }));
    // Keep ftyp, free and mdat; drop the trailing moov.
    const moovAt = bytes.lastIndexOf(Buffer.from("moov")) - 4;
    await expect(probeMp4Stream(chunked(bytes.subarray(0, moovAt), 4096))).rejects.toThrow(/no moov box/);
  });

  it("refuses a box with an impossible size", () => {
    const probe = createMp4Probe();
    const bytes = Buffer.alloc(16);
    bytes.writeUInt32BE(16, 0);
    bytes.write("ftyp", 4, "latin1");
    probe.push(bytes);
    const bad = Buffer.alloc(8);
    bad.writeUInt32BE(3, 0);
    bad.write("free", 4, "latin1");
    expect(() => probe.push(bad)).toThrow(/invalid size 3/);
  });
});
