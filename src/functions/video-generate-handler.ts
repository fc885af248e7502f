import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import { buildResponse } from "./build-response.ts";
import { generationIdOfRun } from "./generation-id.ts";
import { pollUntilDone } from "./poll-until-done.ts";
import { announceGrants } from "./provider-budget.ts";
import { createProgressRecorder } from "./record-progress.ts";
import { claimOrShareIdentical } from "./share-identical-generation.ts";
import type { StageContext } from "./stage-context.ts";
import { answerFromStored, findCachedResult } from "./steps/cache-check-step.ts";
import { copyResult } from "./steps/copy-step.ts";
import { sensitiveRequestValues } from "./steps/event-request.ts";
import { persistedResult, persistResult } from "./steps/persist-step.ts";
import { makeGenerationPoster, withPosterWarning } from "./steps/poster-step.ts";
import { resolveGenerationImage } from "./steps/resolve-image-step.ts";
import { submitTask } from "./steps/submit-step.ts";
import { validateGeneration } from "./steps/validate-step.ts";
import { inStep, toInngestError } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { EVENT_NAMES, settledEvent } from "./video-generation-events.ts";
import { waitForSlot } from "./wait-for-slot.ts";
import { wakeWatcher } from "./wake-watcher.ts";

/**
 * The durable `video-generate` pipeline, step by step as in the README's diagram:
 * validate → resolve-image → cache-check → claim (or wait for an identical generation) → slot → submit →
 * (wake-watcher) → (wait-N, poll-N)… → copy → poster → persist → notify (a cache hit: cache-check → poster → persist → notify); a
 * slot freed on the way is announced to its waiters at once (`slot-handover`, `persist-handover`).
 * Every side effect is a step with a stable id (the memoization keys of runs in flight); each step's body is a
 * function of its own in `./steps`. Code between steps is deterministic, so a replay after a crash or deploy re-runs
 * nothing that already happened. Errors leave through `toInngestError`, the one place that decides what is retried.
 */
export async function runVideoGeneration(
  context: StageContext,
  dependencies: VideoGenerateDependencies,
): Promise<VideoGenerateResponse> {
  try {
    return await generate(context, dependencies);
  } catch (error) {
    throw toInngestError(error, context.attempt);
  }
}

async function generate(
  context: StageContext,
  dependencies: VideoGenerateDependencies,
): Promise<VideoGenerateResponse> {
  const { step } = context;
  const progress = createProgressRecorder(dependencies, context.logger);
  const generationId = generationIdOfRun(context.event.data, context.runId);
  const { referenceImage, audioUrl } = sensitiveRequestValues(context.event.data);
  const inThisStep = <T>(body: () => Promise<T>) => inStep(context, body);

  const { plan, requestedAt } = await step.run(
    "validate",
    inThisStep(() =>
      validateGeneration({
        eventData: context.event.data,
        generationId,
        runId: context.runId,
        dependencies,
        progress,
      }),
    ),
  );

  const resolved = await step.run(
    "resolve-image",
    inThisStep(() =>
      resolveGenerationImage({ generationId, plan, referenceImage, audioUrl, dependencies, progress }),
    ),
  );

  /**
   * poster → persist (→ persist-handover) → notify; `sourceGenerationId` names the generation whose stored video
   * answers this one.
   */
  const finish = async (
    answer: VideoGenerateResponse,
    sourceGenerationId?: string,
  ): Promise<VideoGenerateResponse> => {
    // Never throws: a generation without a poster is still a stored video, with a warning saying why.
    const poster = await step.run(
      "poster",
      inThisStep(() =>
        makeGenerationPoster({
          generationId,
          response: answer,
          sourceGenerationId,
          dependencies,
          logger: context.logger,
        }),
      ),
    );
    const response = poster.posterKey === null ? withPosterWarning(answer, poster.reason) : answer;
    const { response: persisted, grantedTo } = persistedResult(
      await step.run(
        "persist",
        inThisStep(() => persistResult({ generationId, response, requestedAt, dependencies, progress })),
      ),
    );
    // Waiters granted the slot persist freed start now. A lost announcement never fails a stored result: they
    // still take their slot at their next fallback check.
    try {
      await announceGrants(step, "persist-handover", grantedTo);
    } catch (error) {
      context.logger.warn("the slot-granted events could not be sent; the waiters find the slot later", {
        generationId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    // Fan-in for orchestrators, with the request's correlation; a sent event never fails a stored result.
    try {
      await step.sendEvent("notify", [
        {
          name: EVENT_NAMES.completed,
          data: { ...persisted, correlation: plan.request.correlation ?? null },
        },
        settledEvent(generationId, "succeeded"),
      ]);
    } catch (error) {
      context.logger.warn("the completed event could not be sent; the generation is stored and recorded", {
        generationId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return persisted;
  };

  if (plan.cacheMode === "use") {
    const cached = await step.run(
      "cache-check",
      inThisStep(() =>
        findCachedResult({ generationId, cacheKey: resolved.cacheKey, dependencies, progress }),
      ),
    );
    if (cached) {
      return finish(answerFromStored(cached, generationId, resolved.warnings), cached.generation_id);
    }
  }

  const shared = await claimOrShareIdentical({ context, generationId, resolved, dependencies, progress });
  if (shared) return finish(answerFromStored(shared, generationId, resolved.warnings), shared.generation_id);

  await waitForSlot({ context, generationId, dependencies, progress });

  const submitted = await step.run(
    "submit",
    inThisStep(() =>
      submitTask({
        generationId,
        provider: plan.provider,
        referenceImage,
        audioUrl,
        resolved,
        dependencies,
        progress,
        logger: context.logger,
      }),
    ),
  );

  if (submitted.watcherWanted) await wakeWatcher(context, "wake-watcher", "submit");

  const rendered = await pollUntilDone({
    context,
    generationId,
    taskId: submitted.taskId,
    plan,
    expectedRenderMs: submitted.renderEstimate?.expectedMs,
    slotWanted: submitted.slotWanted === true,
    dependencies,
    progress,
  });

  const copied = await step.run(
    "copy",
    inThisStep(() =>
      copyResult({
        generationId,
        taskId: submitted.taskId,
        plan,
        objectKey: resolved.objectKey,
        dependencies,
        progress,
      }),
    ),
  );

  return finish(
    buildResponse({
      generationId,
      plan,
      seed: resolved.seed,
      warnings: resolved.warnings,
      taskId: submitted.taskId,
      model: dependencies.provider.model,
      submittedAt: submitted.submittedAt,
      scheduledAt: copied.scheduledAt ?? rendered.scheduledAt,
      endedAt: copied.endedAt ?? rendered.endedAt,
      copyMs: copied.copyMs,
      stored: copied.stored,
      usage: copied.usage,
      prices: dependencies.settings.prices,
    }),
  );
}
