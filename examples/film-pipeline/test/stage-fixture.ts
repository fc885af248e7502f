import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { composeStage, loadConfig, type StageRuntime } from "video-generate-stage";

/** The sample image the package ships (1280x720 JPEG). */
export const SAMPLE_IMAGE = path.join(
  path.dirname(createRequire(import.meta.url).resolve("video-generate-stage/package.json")),
  "fixtures",
  "sample-reference.jpg",
);

export interface StageFixture {
  stage: StageRuntime;
  outputDir: string;
  close(): Promise<void>;
}

/**
 * The installed `video-gen sandbox` (a DashScope-compatible server that renders real MP4s) in a child process, and
 * the stage composed against it with the package's own `composeStage`: local video files and the embedded
 * database in a temporary directory.
 */
export async function startStageFixture(timings: {
  pendingMs: number;
  renderMs: number;
}): Promise<StageFixture> {
  const sandbox = spawn(
    path.resolve("node_modules/.bin/video-gen"),
    [
      "sandbox",
      "--port",
      "0",
      "--pending-ms",
      String(timings.pendingMs),
      "--render-ms",
      String(timings.renderMs),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const environment = await sandboxEnvironment(sandbox);
  const outputDir = await mkdtemp(path.join(tmpdir(), "film-pipeline-"));
  try {
    const stage = await composeStage(
      loadConfig({
        ...environment,
        HOME: outputDir,
        OUTPUT_DIR: outputDir,
        REFERENCE_IMAGE_ROOT: path.dirname(SAMPLE_IMAGE),
        VIDEO_GEN_RENDER_ESTIMATE_S: "1",
      }),
    );
    return {
      stage,
      outputDir,
      async close() {
        await stage.close();
        sandbox.kill("SIGTERM");
        await rm(outputDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    sandbox.kill("SIGTERM");
    throw error;
  }
}

/** The `export NAME=value` lines `video-gen sandbox` prints once it listens. */
function sandboxEnvironment(sandbox: ChildProcess): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`video-gen sandbox did not start:\n${output}`)), 30_000);
    sandbox.once("exit", (code) => reject(new Error(`video-gen sandbox exited (${code}):\n${output}`)));
    sandbox.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes("Ctrl-C stops it.")) return;
      clearTimeout(timer);
      resolve(
        Object.fromEntries([...output.matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1], match[2]])),
      );
    });
  });
}
