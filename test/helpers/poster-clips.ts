import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Renders a real H.264 MP4 that opens on black: `blackSeconds` of a black frame, then ffmpeg's `testsrc` card (mean
 * luma about 127), at 30 fps like the model's renders. `blackSeconds` equal to `seconds` gives a clip that is black
 * throughout.
 */
export async function makeBlackOpeningMp4(
  ffmpegPath: string,
  outputPath: string,
  options: { seconds?: number; blackSeconds?: number; width?: number; height?: number } = {},
): Promise<string> {
  const { seconds = 3, blackSeconds = 1, width = 1280, height = 720 } = options;
  const size = `${width}x${height}`;
  const quiet = ["-v", "error", "-nostdin", "-y"];
  const black = ["-f", "lavfi", "-i", `color=black:size=${size}:rate=30:duration=${blackSeconds}`];
  const card = ["-f", "lavfi", "-i", `testsrc=size=${size}:rate=30:duration=${seconds - blackSeconds}`];
  const graph =
    seconds > blackSeconds
      ? [...black, ...card, "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"]
      : black;
  await run(
    ffmpegPath,
    [...quiet, ...graph, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", outputPath],
    { timeout: 60_000 },
  );
  return outputPath;
}

/** Decodes an image (or a video's first frame) to 8-bit gray and returns its size and mean luma (0 black, 255 white). */
export async function measureLuma(
  ffmpegPath: string,
  imagePath: string,
): Promise<{ width: number; height: number; meanLuma: number }> {
  const { stdout, stderr } = await run(
    ffmpegPath,
    [
      "-nostdin",
      "-hide_banner",
      "-i",
      imagePath,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "gray",
      "pipe:1",
    ],
    { encoding: "buffer", maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  );
  const size = /Stream #0:0.*?, (\d+)x(\d+)/.exec(stderr.toString("utf8"));
  if (!size) throw new Error(`no frame size in ffmpeg's report on ${imagePath}`);
  let sum = 0;
  for (const value of stdout) sum += value;
  return { width: Number(size[1]), height: Number(size[2]), meanLuma: sum / stdout.byteLength };
}
