import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Finds a binary: the explicit path (FFMPEG_PATH / FFPROBE_PATH), else the one on PATH, else the copy shipped by
 * the npm installer package, so `npm ci` alone is enough. Returns undefined when none runs.
 */
function locate(explicitPath: string | undefined, name: "ffmpeg" | "ffprobe", installerPackage: string) {
  const candidates: string[] = [];
  if (explicitPath) return runs(explicitPath) ? explicitPath : undefined;
  candidates.push(name);
  try {
    candidates.push((require(installerPackage) as { path: string }).path);
  } catch {
    // The optional platform package is absent on unsupported platforms.
  }
  return candidates.find(runs);
}

function runs(binary: string): boolean {
  try {
    execFileSync(binary, ["-version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface FfmpegPaths {
  ffmpeg: string | undefined;
  ffprobe: string | undefined;
}

export function locateFfmpeg(options: { ffmpegPath?: string; ffprobePath?: string } = {}): FfmpegPaths {
  return {
    ffmpeg: locate(options.ffmpegPath, "ffmpeg", "@ffmpeg-installer/ffmpeg"),
    ffprobe: locate(options.ffprobePath, "ffprobe", "@ffprobe-installer/ffprobe"),
  };
}
