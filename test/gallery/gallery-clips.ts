import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The reference image every take is rendered from: the demo's lake at sunset, 1280×720. */
export const REFERENCE_IMAGE = fileURLToPath(new URL("../../fixtures/sample-reference.jpg", import.meta.url));

/** How the camera moves over the reference image, so the takes of one shot look (and compare) like takes. */
export type CameraMove = "push-in" | "pan-right" | "pull-out" | "push-in-warm";

/** Frames per second of the rendered clips (what the gallery shows as fps). */
export const CLIP_FPS = 24;

const MOVES: Record<CameraMove, string> = {
  "push-in": "zoompan=z='1+0.0025*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'",
  "pan-right": "zoompan=z='1.3':x='(iw-iw/zoom)*on/120':y='ih/2-(ih/zoom/2)'",
  "pull-out": "zoompan=z='1.3-0.0025*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'",
  "push-in-warm": "zoompan=z='1+0.002*on':x='iw/3-(iw/zoom/3)':y='ih/2-(ih/zoom/2)'",
};

/**
 * Renders a real H.264 MP4 (faststart, yuv420p, no audio) from the reference image: an image-to-video take as the
 * model would return one, small enough to make in about a second. Chromium plays it.
 */
export async function renderTake(
  ffmpegPath: string,
  outputPath: string,
  options: { move: CameraMove; seconds: number; width?: number; height?: number },
): Promise<string> {
  const { move, seconds, width = 640, height = 360 } = options;
  const grade = move === "push-in-warm" ? ",eq=saturation=1.4:gamma_r=1.15" : "";
  const filter = `scale=1280:720,${MOVES[move]}:d=1:s=${width}x${height}:fps=${CLIP_FPS}${grade},format=yuv420p`;
  await run(
    ffmpegPath,
    [
      ...[
        "-v",
        "error",
        "-nostdin",
        "-y",
        "-loop",
        "1",
        "-framerate",
        String(CLIP_FPS),
        "-i",
        REFERENCE_IMAGE,
      ],
      ...["-t", String(seconds), "-vf", filter, "-c:v", "libx264", "-preset", "ultrafast"],
      ...["-movflags", "+faststart", outputPath],
    ],
    { timeout: 60_000 },
  );
  return outputPath;
}
