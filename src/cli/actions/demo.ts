import { fileURLToPath } from "node:url";
import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { startSandbox } from "../../sandbox/index.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { formatRecord, videoLocation } from "../format-output.ts";
import { defaultGenerationId } from "../request-from-flags.ts";
import { runGeneration } from "../run-generation.ts";
import { sandboxEnvironment } from "./sandbox.ts";

/** The shipped reference image (1280x720 JPEG), at the package root in a clone and in an installed package alike. */
const SAMPLE_IMAGE = fileURLToPath(new URL("../../../fixtures/sample-reference.jpg", import.meta.url));

/** Quick but realistic sandbox timings: a second in the queue, three rendering. */
const DEMO_TIMINGS = { pendingMs: 1_000, renderMs: 3_000 };

/**
 * The demo request. Policy `conform` with fps 24: the model renders a fixed 30 fps, so the stage resamples the stored
 * file to 24 fps with ffmpeg and the summary shows a measured 24 fps. That shows the policy doing real work, which
 * `warn` would only describe (the sandbox needs ffmpeg anyway, so conform is always available here).
 */
export const DEMO_REQUEST = {
  prompt: "Gentle waves roll onto the shore at sunset while a small sailboat drifts across the horizon",
  reference_image: SAMPLE_IMAGE,
  duration: 5,
  fps: 24,
  size: "1280*720",
  unsupported: "conform",
} as const;

/**
 * The first run on a fresh machine. Starts the sandbox in this process, points the stage at it, and generates a
 * video from the shipped image into OUTPUT_DIR (local files and the embedded database, whatever S3_* or DATABASE_URL
 * say: the demo never writes to real stores). Run it twice: the second is a cache hit.
 */
export async function runDemo(io: CliIo): Promise<number> {
  const sandbox = await startSandbox({ timings: DEMO_TIMINGS });
  try {
    io.stderr.write(
      `video-gen demo: a local DashScope sandbox runs on ${sandbox.url} (real MP4 renders with ffmpeg, nothing billed)\n`,
    );
    const config = loadConfig({
      ...io.environment,
      ...sandboxEnvironment(sandbox),
      VIDEO_GEN_RENDER_ESTIMATE_S: "4",
      // Local files and the embedded database under OUTPUT_DIR, never the user's real stores.
      DATABASE_URL: "",
      S3_BUCKET: "",
      S3_ENDPOINT: "",
      S3_PUBLIC_BASE_URL: "",
    });
    io.stderr.write(
      `video-gen demo: opening the embedded database under ${config.outputDir} (the very first run initializes it, which takes a few seconds)\n`,
    );
    const runtime = await composeStage(config, { localImages: "any" });
    try {
      const request = { ...DEMO_REQUEST, generation_id: defaultGenerationId({ ...DEMO_REQUEST }) };
      io.stderr.write(
        `video-gen demo: ${request.duration} s at ${request.size}, fps ${request.fps} with policy conform (the model renders 30 fps; the stored file is resampled to 24)\n`,
      );
      const result = await runGeneration({ request, runtime, config, io, json: false });
      if (!result.response) return result.exitCode;
      const record = await runtime.dependencies.metadataStore.get(request.generation_id);
      io.stdout.write(
        [
          "",
          result.response.cache_hit
            ? "Cache hit: this request was rendered before, so no provider call was made (use --cache refresh with generate to render again)."
            : "Rendered by the sandbox and stored; run `npm run demo` again to see the cache answer.",
          `Playable MP4: ${videoLocation(result.response.video_url)}`,
          "",
          `Record (video-gen show ${request.generation_id}; with OUTPUT_DIR=${config.outputDir} if you set it):`,
          record ? formatRecord(record, { withResult: false }) : "(not found)",
        ].join("\n"),
      );
      return result.exitCode;
    } finally {
      await runtime.close();
    }
  } catch (error) {
    warn(io, "the demo failed; `video-gen demo --verbose` shows more");
    throw error;
  } finally {
    await sandbox.close();
  }
}
