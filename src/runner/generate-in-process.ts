import { randomUUID } from "node:crypto";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import { type ErrorCategory, VideoGenerationError } from "../errors/video-generation-error.ts";
import { cleanUpEvents, cleanUpGeneration, type GenerationEnding } from "../functions/clean-up-generation.ts";
import { generationIdOfRun } from "../functions/generation-id.ts";
import { parseErrorCode } from "../functions/to-inngest-error.ts";
import type { VideoGenerateDependencies } from "../functions/video-generate-dependencies.ts";
import { runVideoGeneration } from "../functions/video-generate-handler.ts";
import { EVENT_NAMES } from "../functions/video-generation-events.ts";
import { EventBus } from "./event-bus.ts";
import { type InProcessRunOptions, runInProcess } from "./in-process-runner.ts";

/** How an in-process generation ended. */
export type GenerationOutcome =
  | { status: "succeeded"; response: VideoGenerateResponse }
  | {
      status: "failed";
      generationId: string;
      /** Stable code (`invalid_input`, `DataInspectionFailed`, `deadline_exceeded`, …) and message. */
      error: { code: string; message: string; category: ErrorCategory | "internal" };
    }
  | { status: "canceled"; generationId: string; providerTaskCanceled: boolean };

/**
 * Generations run in one process on the same dependencies share one event bus unless the caller gives its own, so a
 * freed budget slot or an identical generation's ending wakes the runs waiting for it, as Inngest's events would.
 */
const buses = new WeakMap<VideoGenerateDependencies, EventBus>();
function busOf(dependencies: VideoGenerateDependencies): EventBus {
  let bus = buses.get(dependencies);
  if (!bus) {
    bus = new EventBus();
    buses.set(dependencies, bus);
  }
  return bus;
}

/** The stage error behind an Inngest control error (`NonRetriableError` keeps it as `cause`). */
function stageErrorOf(error: unknown): VideoGenerationError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof VideoGenerationError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Runs one `video.generate` request through the same handler the Inngest function uses, in this process, and does
 * what `onFailure` and the cancellation handler do on Inngest: clean up (record, slot, provider task) and emit the
 * `failed` / `canceled` event on the bus. Never throws for a generation that failed; the outcome says how it ended.
 */
export async function generateInProcess(
  request: unknown,
  dependencies: VideoGenerateDependencies,
  options: InProcessRunOptions = {},
): Promise<GenerationOutcome> {
  const runId = options.runId ?? randomUUID();
  const bus = options.bus ?? busOf(dependencies);
  const generationId = generationIdOfRun(request, runId);
  const { provider, metadataStore, settings } = dependencies;
  const cleanUp = async (ending: GenerationEnding) => {
    const outcome = await cleanUpGeneration({
      generationId,
      ending,
      provider,
      metadataStore,
      settings,
      startedBy: { runId, eventData: request },
    });
    bus.publish(cleanUpEvents(generationId, ending, outcome));
    return outcome;
  };
  try {
    const response = await runInProcess(
      (context) => runVideoGeneration(context, dependencies),
      { name: EVENT_NAMES.requested, data: request },
      { ...options, runId, bus },
    );
    return { status: "succeeded", response };
  } catch (error) {
    if (options.signal?.aborted) {
      const reason = String(
        options.signal.reason instanceof Error
          ? options.signal.reason.message
          : (options.signal.reason ?? "canceled"),
      );
      const outcome = await cleanUp({ kind: "canceled", reason });
      return { status: "canceled", generationId, providerTaskCanceled: outcome.providerTaskCanceled };
    }
    const stageError = stageErrorOf(error);
    if (stageError?.category === "canceled" && stageError.code === "canceled") {
      // Canceled from elsewhere (its record says so) while this process ran it: that cancel announced it.
      return { status: "canceled", generationId, providerTaskCanceled: false };
    }
    const { code, message } = stageError
      ? { code: stageError.code, message: stageError.message }
      : parseErrorCode(error instanceof Error ? error.message : String(error));
    // The failure is reported whether or not the clean-up could reach the stores.
    await cleanUp({ kind: "failed", code, message }).catch(() =>
      bus.publish({
        name: EVENT_NAMES.failed,
        data: { generation_id: generationId, error: { code, message }, task_id: null, correlation: null },
      }),
    );
    return {
      status: "failed",
      generationId,
      error: { code, message, category: stageError?.category ?? "internal" },
    };
  }
}
