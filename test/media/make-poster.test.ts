import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPosterMaker } from "../../src/media/make-poster.ts";
import { FfmpegFailure } from "../../src/media/run-ffmpeg.ts";
import { requireFfmpeg } from "../helpers/ffprobe-video.ts";
import { makeBlackOpeningMp4, measureLuma } from "../helpers/poster-clips.ts";

describe("poster maker (real ffmpeg)", () => {
  const { ffmpeg } = requireFfmpeg();
  let directory: string;
  let blackOpening: string;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "poster-test-"));
    blackOpening = await makeBlackOpeningMp4(ffmpeg, path.join(directory, "black-opening.mp4"), {
      seconds: 3,
      blackSeconds: 1,
    });
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function lumaOf(bytes: Buffer, name: string) {
    const file = path.join(directory, name);
    await writeFile(file, bytes);
    return measureLuma(ffmpeg, file);
  }

  it("picks a frame that is not black from a clip that opens with 1 s of black, 640 px wide, as WebP", async () => {
    // The clip really opens on black: its frame 0 is what a naive poster would show.
    expect((await measureLuma(ffmpeg, blackOpening)).meanLuma).toBeLessThan(20);

    const poster = await createPosterMaker({ ffmpegPath: ffmpeg })(blackOpening);

    expect(poster).toMatchObject({ contentType: "image/webp", extension: "webp" });
    expect(poster.bytes.toString("latin1", 8, 12)).toBe("WEBP");
    expect(poster.bytes.byteLength).toBeLessThan(100 * 1024);
    const measured = await lumaOf(poster.bytes, "poster.webp");
    expect(measured).toMatchObject({ width: 640, height: 360 });
    expect(measured.meanLuma).toBeGreaterThan(80);
  });

  it("still makes a poster of a clip that is black throughout", async () => {
    const allBlack = await makeBlackOpeningMp4(ffmpeg, path.join(directory, "all-black.mp4"), {
      seconds: 2,
      blackSeconds: 2,
      width: 640,
      height: 480,
    });
    const poster = await createPosterMaker({ ffmpegPath: ffmpeg })(allBlack);
    const measured = await lumaOf(poster.bytes, "black-poster.webp");
    expect(measured).toMatchObject({ width: 640, height: 480 });
    expect(measured.meanLuma).toBeLessThan(20);
  });

  it("makes a JPEG when the ffmpeg build cannot encode WebP", async () => {
    // The real ffmpeg behind a wrapper whose encoder list lacks libwebp, as a build without it reports.
    const wrapper = path.join(directory, "ffmpeg-without-webp");
    await writeFile(
      wrapper,
      `#!/bin/sh\nfor argument in "$@"; do\n  if [ "$argument" = "-encoders" ]; then\n    ${JSON.stringify(ffmpeg)} "$@" | grep -v libwebp\n    exit 0\n  fi\ndone\nexec ${JSON.stringify(ffmpeg)} "$@"\n`,
    );
    await chmod(wrapper, 0o755);

    const poster = await createPosterMaker({ ffmpegPath: wrapper })(blackOpening);

    expect(poster).toMatchObject({ contentType: "image/jpeg", extension: "jpg" });
    expect([poster.bytes[0], poster.bytes[1]]).toEqual([0xff, 0xd8]);
    const measured = await lumaOf(poster.bytes, "poster.jpg");
    expect(measured).toMatchObject({ width: 640, height: 360 });
    expect(measured.meanLuma).toBeGreaterThan(80);
  });

  it("fails with ffmpeg's own message for a file that is not a video", async () => {
    const notVideo = path.join(directory, "not-video.mp4");
    await writeFile(notVideo, "<html>not a video</html>");
    const error = await createPosterMaker({ ffmpegPath: ffmpeg })(notVideo).catch((caught) => caught);
    expect(error).toBeInstanceOf(FfmpegFailure);
    expect(error.exitCode).not.toBe(0);
  });
});
