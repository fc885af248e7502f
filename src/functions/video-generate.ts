import { eventType, type Inngest, staticSchema } from "inngest";
import type { VideoGenerateRequest } from "../contract/video-generate-request.ts";
import { cleanUpEvents, cleanUpGeneration, type GenerationEnding } from "./clean-up-generation.ts";
import { generationIdOfRun } from "./generation-id.ts";
import type { StageContext } from "./stage-context.ts";
import { createTaskWatcherFunction } from "./task-watcher.ts";
import { parseErrorCode } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { runVideoGeneration } from "./video-generate-handler.ts";
import { EVENT_NAMES, videoGenerationCancelRequested } from "./video-generation-events.ts";
import { watchedSettings } from "./wait-schedule.ts";

/** The function id; with the app id it forms `<app>-video-generate`. Never renamed: runs in flight depend on it. */
export const VIDEO_GENERATE_FUNCTION_ID = "video-generate";

/** Step retries per step (7 attempts): enough to ride out a throttling burst with the 2→60 s backoff. */
const STEP_RETRIES = 6;

/**
 * The trigger as the function sees it: typed as a request, checked by the `validate` step rather than by the SDK.
 * The SDK's own check runs before the handler, so a bad request would end the run with no record, no `invalid_input`
 * code, and a stack trace in the run's output; and it would refuse `data._inngest`, which Inngest adds to every
 * invoked run (`step.invoke`, the dashboard's Invoke button). Senders still get the full schema check from
 * `videoGenerationRequested.create()`.
 */
const requestedTrigger = eventType(EVENT_NAMES.requested, {
  schema: staticSchema<VideoGenerateRequest & { _inngest?: Record<string, unknown> }>(),
});

/** Inngest's logger is object-first (Pino style); the handler's is message-first. */
type InngestLogger = { info: (...args: unknown[]) => void; warn: (...args: unknown[]) => void };
const adaptLogger = (logger: InngestLogger): StageContext["logger"] => ({
  info: (message, fields) => logger.info(fields ?? {}, message),
  warn: (message, fields) => logger.warn(fields ?? {}, message),
});

/** Inngest's step tools as the handler's `StageStepTools`. */
function stageStepTools(step: {
  run: (id: string, body: () => Promise<unknown>) => Promise<unknown>;
  sleep: (id: string, duration: number) => Promise<unknown>;
  waitForEvent: (id: string, options: { event: string; timeout: number; if: string }) => Promise<unknown>;
  sendEvent: (id: string, payload: unknown) => Promise<unknown>;
}): StageContext["step"] {
  return {
    run: (id, body) => step.run(id, body) as never,
    sleep: async (id, durationMs) => {
      await step.sleep(id, durationMs);
    },
    // Generation ids are letters, digits and `._:-` (or `run-<uuid>`): safe inside a CEL string literal.
    waitForGenerationEvent: (id, { event, generationId, timeoutMs }) =>
      step.waitForEvent(id, {
        event,
        timeout: timeoutMs,
        if: `async.data.generation_id == '${generationId}'`,
      }) as never,
    sendEvent: (id, payload) => step.sendEvent(id, payload),
  };
}

/**
 * Builds the stage's Inngest functions on the host's own client with its own dependencies, so an orchestrator can
 * serve them in its app:
 * - `video-generate`: the pipeline (its `onFailure` cleans up and emits `video/generation.failed`);
 * - `video-generate-cancel`: a cancel command for a generation id, also for runs `cancelOn` cannot match (a
 *   generation without a client id) and for records whose run is gone;
 * - `video-generate-on-cancelled`: cleanup after every cancellation Inngest performs, whatever the route (`cancelOn`,
 *   the REST API, the dashboard, bulk cancel), which ends a run without running any of its code;
 * - `video-generate-watcher`: the account-wide task watcher (`task-watcher.ts`), which signals task endings, frees
 *   and hands over their slots. With it, runs wait for signals (`settings.taskWatcher`, true here unless the host
 *   set it false) instead of checking on a dense schedule.
 *
 * Flow control, and why:
 * - `throttle` 10 starts/s (burst 10): smooths a fan-out of hundreds of events into a steady stream; it queues, never
 *   drops, so a manual replay always runs (and the cache answers it). The provider limits themselves (5 submits/s,
 *   5 tasks in flight) are enforced by the budget in the metadata store, which also counts sleeping runs.
 * - no `idempotency`, `rateLimit` or `singleton`: each would drop a replayed event. Identical requests are
 *   deduplicated by the cache-key claim instead, which answers them rather than discarding them.
 * - `cancelOn` the cancel command, matched on `generation_id`.
 */
export function createVideoGenerateFunctions(
  inngest: Inngest.Any,
  stageDependencies: VideoGenerateDependencies,
) {
  // On Inngest the task watcher is served beside the pipeline, so runs wait for its signals unless the host said no.
  const dependencies: VideoGenerateDependencies = {
    ...stageDependencies,
    settings:
      stageDependencies.settings.taskWatcher === false
        ? stageDependencies.settings
        : watchedSettings(stageDependencies.settings),
  };
  const { provider, metadataStore, settings } = dependencies;
  const cleanUp = (
    generationId: string,
    ending: GenerationEnding,
    startedBy?: { runId: string; eventData: unknown },
  ) => cleanUpGeneration({ generationId, ending, provider, metadataStore, settings, startedBy });

  const videoGenerate = inngest.createFunction(
    {
      id: VIDEO_GENERATE_FUNCTION_ID,
      name: "Generate video (wan2.6-i2v-flash)",
      triggers: [requestedTrigger],
      retries: STEP_RETRIES,
      throttle: { limit: 10, period: "1s", burst: 10 },
      cancelOn: [
        { event: videoGenerationCancelRequested, if: "async.data.generation_id == event.data.generation_id" },
      ],
      onFailure: async ({ event, error, step }) => {
        const original = event.data.event as { data?: unknown };
        const runId = String(event.data.run_id);
        const generationId = generationIdOfRun(original.data, runId);
        const { code, message } = parseErrorCode(error.message);
        const ending: GenerationEnding = { kind: "failed", code, message };
        const outcome = await step.run("clean-up", () =>
          cleanUp(generationId, ending, { runId, eventData: original.data }),
        );
        const events = cleanUpEvents(generationId, ending, outcome);
        if (events.length > 0) await step.sendEvent("notify-failed", events);
      },
    },
    async ({ event, step, runId, attempt, logger }) =>
      runVideoGeneration(
        {
          event: { data: event.data, ts: event.ts },
          step: stageStepTools(step as never),
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
      const ending: GenerationEnding = { kind: "canceled", reason: event.data.reason ?? "cancel requested" };
      const outcome = await step.run("clean-up", () => cleanUp(event.data.generation_id, ending));
      const events = cleanUpEvents(event.data.generation_id, ending, outcome);
      if (events.length > 0) await step.sendEvent("notify-canceled", events);
      return { canceled: outcome.changed, providerTaskCanceled: outcome.providerTaskCanceled };
    },
  );

  const videoGenerateOnCancelled = inngest.createFunction(
    {
      id: `${VIDEO_GENERATE_FUNCTION_ID}-on-cancelled`,
      name: "Clean up a canceled video generation run",
      triggers: [
        {
          event: "inngest/function.cancelled",
          if: `event.data.function_id == '${inngest.id}-${VIDEO_GENERATE_FUNCTION_ID}'`,
        },
      ],
      retries: STEP_RETRIES,
    },
    async ({ event, step }) => {
      const data = event.data as { run_id?: unknown; event?: { data?: unknown } };
      const runId = String(data.run_id);
      const eventData = data.event?.data;
      const generationId = generationIdOfRun(eventData, runId);
      const ending: GenerationEnding = { kind: "canceled", reason: "run canceled" };
      const outcome = await step.run("clean-up", () => cleanUp(generationId, ending, { runId, eventData }));
      const events = cleanUpEvents(generationId, ending, outcome);
      if (events.length > 0) await step.sendEvent("notify-canceled", events);
      return { canceled: outcome.changed, providerTaskCanceled: outcome.providerTaskCanceled };
    },
  );

  const taskWatcher = createTaskWatcherFunction(inngest, dependencies);

  return [videoGenerate, videoGenerateCancel, videoGenerateOnCancelled, taskWatcher] as const;
}
