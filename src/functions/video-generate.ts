import type { Inngest } from "inngest";
import { cleanUpGeneration } from "./clean-up-generation.ts";
import { parseErrorCode } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { generationIdForRun, runVideoGeneration, type StageContext } from "./video-generate-handler.ts";
import {
  EVENT_NAMES,
  videoGenerationCancelRequested,
  videoGenerationRequested,
} from "./video-generation-events.ts";

/** The function id; with the app id it forms `<app>-video-generate`. Never renamed: runs in flight depend on it. */
export const VIDEO_GENERATE_FUNCTION_ID = "video-generate";

/** Step retries per step (7 attempts): enough to ride out a throttling burst with the 2→60 s backoff. */
const STEP_RETRIES = 6;

type InngestLogger = { info: (...args: unknown[]) => void; warn: (...args: unknown[]) => void };

/** Inngest's logger is object-first (Pino style); the handler's is message-first. */
const adaptLogger = (logger: InngestLogger): StageContext["logger"] => ({
  info: (message, fields) => logger.info(fields ?? {}, message),
  warn: (message, fields) => logger.warn(fields ?? {}, message),
});

/**
 * Builds the stage's Inngest functions on the host's own client with its own dependencies, so an orchestrator can
 * serve them in its app: `video-generate` (the pipeline) and `video-generate-cancel` (cleanup on a cancel command).
 *
 * Flow control, and why:
 * - `throttle` 10 starts/s (burst 10): smooths a fan-out of hundreds of events into a steady stream; it queues, never
 *   drops, so a manual replay always runs (and the cache answers it). The provider limits themselves (5 submits/s,
 *   5 tasks in flight) are enforced by the budget in the metadata store, which also counts sleeping runs.
 * - no `idempotency`, `rateLimit` or `singleton`: each would drop a replayed event. Identical requests are
 *   deduplicated by the cache-key claim instead, which answers them rather than discarding them.
 * - `cancelOn` the cancel command, matched on `generation_id`.
 */
export function createVideoGenerateFunctions(inngest: Inngest.Any, dependencies: VideoGenerateDependencies) {
  const { provider, metadataStore } = dependencies;

  const videoGenerate = inngest.createFunction(
    {
      id: VIDEO_GENERATE_FUNCTION_ID,
      name: "Generate video (wan2.6-i2v-flash)",
      triggers: [videoGenerationRequested],
      retries: STEP_RETRIES,
      throttle: { limit: 10, period: "1s", burst: 10 },
      cancelOn: [
        { event: videoGenerationCancelRequested, if: "async.data.generation_id == event.data.generation_id" },
      ],
      onFailure: async ({ event, error, step }) => {
        const original = event.data.event as { data?: { generation_id?: unknown; correlation?: unknown } };
        const requestedId = original.data?.generation_id;
        const generationId = generationIdForRun(
          typeof requestedId === "string" ? requestedId : undefined,
          String(event.data.run_id),
        );
        const { code, message } = parseErrorCode(error.message);
        const outcome = await step.run("clean-up", () =>
          cleanUpGeneration({
            generationId,
            ending: { kind: "failed", code, message },
            provider,
            metadataStore,
          }),
        );
        const correlation =
          outcome.correlation ?? (original.data?.correlation as Record<string, unknown>) ?? null;
        await step.sendEvent("notify-failed", {
          name: EVENT_NAMES.failed,
          data: {
            generation_id: generationId,
            error: { code, message },
            task_id: outcome.taskId,
            correlation,
          },
        });
      },
    },
    async ({ event, step, runId, attempt, logger }) =>
      runVideoGeneration(
        {
          event: { data: event.data, ts: event.ts },
          step: step as unknown as StageContext["step"],
          runId,
          attempt,
          logger: adaptLogger(logger as unknown as InngestLogger),
        },
        dependencies,
      ),
  );

  const videoGenerateCancel = inngest.createFunction(
    {
      id: `${VIDEO_GENERATE_FUNCTION_ID}-cancel`,
      name: "Cancel a video generation",
      triggers: [videoGenerationCancelRequested],
      retries: STEP_RETRIES,
    },
    async ({ event, step }) => {
      const reason = event.data.reason ?? "cancel requested";
      const outcome = await step.run("clean-up", () =>
        cleanUpGeneration({
          generationId: event.data.generation_id,
          ending: { kind: "canceled", reason },
          provider,
          metadataStore,
        }),
      );
      if (!outcome.changed) return { canceled: false };
      await step.sendEvent("notify-canceled", {
        name: EVENT_NAMES.canceled,
        data: {
          generation_id: event.data.generation_id,
          task_id: outcome.taskId,
          provider_task_canceled: outcome.providerTaskCanceled,
          reason,
          correlation: outcome.correlation,
        },
      });
      return { canceled: true, providerTaskCanceled: outcome.providerTaskCanceled };
    },
  );

  return [videoGenerate, videoGenerateCancel] as const;
}
