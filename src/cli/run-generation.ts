import type { StageRuntime } from "../compose-stage.ts";
import type { StageConfig } from "../config.ts";
import { parseSize } from "../contract/video-generate-request.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import { resolutionForSize, WAN_DURATION_SECONDS } from "../contract/wan-model.ts";
import { expectedRenderMs } from "../functions/poll-schedule.ts";
import { generateInProcess } from "../runner/generate-in-process.ts";
import { type CliIo, onTermination, warn } from "./cli-io.ts";
import { EXIT_CODES, type ExitCode, exitCodeForCategory } from "./exit-codes.ts";
import { formatResponse } from "./format-output.ts";
import { createProgressReporter } from "./progress-line.ts";

/** How often the record is read for progress (stage, provider status). */
const RECORD_POLL_MS = 1_000;

export interface RunGenerationInput {
  /** The request, with `generation_id` set. */
  request: Record<string, unknown> & { generation_id: string };
  runtime: StageRuntime;
  config: StageConfig;
  io: CliIo;
  /** Print only the response JSON on stdout. */
  json: boolean;
}

export interface RunGenerationResult {
  exitCode: ExitCode;
  response?: VideoGenerateResponse;
}

/** The poll schedule's expected render time for this request (its scale only; the request is validated later). */
function renderEstimateFor(request: Record<string, unknown>, config: StageConfig): number {
  const duration = typeof request.duration === "number" ? request.duration : WAN_DURATION_SECONDS.default;
  const size = typeof request.size === "string" ? parseSize(request.size) : undefined;
  try {
    return expectedRenderMs({
      duration,
      resolution: size ? resolutionForSize(size.width, size.height) : "720P",
      overrideSeconds: config.renderEstimateSeconds,
    });
  } catch {
    return 60_000;
  }
}

/**
 * Runs one request in this process with live progress, turns SIGINT/SIGTERM into a cancel (the runner cancels a
 * PENDING provider task and records the cancel), prints the outcome, and returns the exit code. A second signal
 * while canceling leaves at once.
 */
export async function runGeneration(input: RunGenerationInput): Promise<RunGenerationResult> {
  const { request, runtime, config, io, json } = input;
  const generationId = request.generation_id;
  const { metadataStore } = runtime.dependencies;
  const progress = createProgressReporter({
    stream: io.stderr,
    interactive: io.interactive,
    expectedRenderMs: renderEstimateFor(request, config),
  });

  const controller = new AbortController();
  const disposeSignals = onTermination((signal) => {
    if (controller.signal.aborted) {
      warn(
        io,
        `${signal} again: leaving without cleaning up (rerun the same command to resume, or video-gen cancel ${generationId})`,
      );
      process.exit(EXIT_CODES.canceled);
    }
    progress.note(`${signal}: canceling generation ${generationId}…`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
  const poller = setInterval(() => {
    metadataStore.get(generationId).then(
      (record) => progress.record(record),
      () => undefined,
    );
  }, RECORD_POLL_MS);

  let outcome: Awaited<ReturnType<typeof generateInProcess>>;
  try {
    outcome = await generateInProcess(request, runtime.dependencies, {
      signal: controller.signal,
      onStep: (event) => progress.step(event),
    });
  } finally {
    clearInterval(poller);
    disposeSignals();
    progress.stop();
  }

  if (outcome.status === "succeeded") {
    io.stdout.write(
      json ? `${JSON.stringify(outcome.response, null, 2)}\n` : formatResponse(outcome.response),
    );
    return { exitCode: EXIT_CODES.success, response: outcome.response };
  }
  if (outcome.status === "canceled") {
    const task = outcome.providerTaskCanceled
      ? "the provider task was canceled while PENDING (not billed)"
      : "no provider task was canceled (none was submitted yet, or it was already running and will be billed)";
    warn(io, `generation ${outcome.generationId} canceled: ${task}; the record is marked canceled`);
    return { exitCode: EXIT_CODES.canceled };
  }
  const { error } = outcome;
  warn(io, `generation ${outcome.generationId} failed [${error.code}]: ${error.message}`);
  if (error.category === "input") warn(io, "fix the request (see video-gen generate --help) and run again");
  return { exitCode: exitCodeForCategory(error.category) };
}
