import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import { VideoGenerationError } from "../errors/video-generation-error.ts";
import type { RecordProgress } from "./record-progress.ts";
import type { StageContext } from "./stage-context.ts";
import {
  checkIdenticalGeneration,
  claimCacheKey,
  type IdenticalGenerationState,
} from "./steps/claim-step.ts";
import type { ResolvedGeneration } from "./steps/resolve-image-step.ts";
import { inStep } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { EVENT_NAMES } from "./video-generation-events.ts";
import { duplicateWaitCapMs, evenFallbackMs, fallbackWaitMs, ownerLifetimeMs } from "./wait-schedule.ts";

/**
 * Claims the cache key, or waits for the identical generation that holds it: woken by its `settled` event (every
 * ending sends one), with a fallback check of its record in case the event was missed. Returns that generation's
 * response when it succeeded, or null when this generation holds the key and must submit itself. A waiter whose owner
 * fails or is canceled claims again (up to `maxClaimRounds`); the checks of all rounds share one bounded count.
 */
export async function claimOrShareIdentical(input: {
  context: StageContext;
  generationId: string;
  resolved: ResolvedGeneration;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<VideoGenerateResponse | null> {
  const { context, generationId, dependencies, progress } = input;
  const { step, logger } = context;
  const { settings } = dependencies;
  const capMs = duplicateWaitCapMs(settings);
  let checksUsed = 0;
  // Time waited since the first check (from the checks' own times, so a replay computes the same waits).
  let firstCheckedAt: number | undefined;
  let waitedMs = 0;
  let lastOwner = "";
  for (let round = 0; round < settings.maxClaimRounds; round++) {
    const suffix = round === 0 ? "" : `-${round}`;
    const claim = await step.run(
      `claim${suffix}`,
      inStep(context, () =>
        claimCacheKey({ generationId, resolved: input.resolved, dependencies, progress }),
      ),
    );
    if (claim.outcome === "claimed") return null;

    const owner = claim.owner.generationId;
    lastOwner = owner;
    logger.info("identical generation in flight; waiting for it", { generationId, owner });
    for (let check = 0; ; check++) {
      if (checksUsed >= settings.maxDuplicateChecks) {
        throw new VideoGenerationError(
          "timeout",
          `the identical generation ${owner} this one waits for did not finish within ${settings.maxDuplicateChecks} checks`,
          { code: "deadline_exceeded", retryable: false },
        );
      }
      // An owner that already succeeded answers at once; otherwise wait for its ending.
      if (check > 0 || claim.owner.status !== "succeeded") {
        await step.waitForGenerationEvent(`duplicate-wait${suffix}-${check}`, {
          event: EVENT_NAMES.settled,
          generationId: owner,
          // The checks left cover the rest of the owner's longest life, however few they are.
          timeoutMs: evenFallbackMs(
            fallbackWaitMs(checksUsed, capMs, settings.taskWatcher === true),
            ownerLifetimeMs(settings) - waitedMs,
            settings.maxDuplicateChecks - checksUsed,
          ),
        });
      }
      checksUsed++;
      const state: IdenticalGenerationState = await step.run(
        `duplicate-check${suffix}-${check}`,
        inStep(context, () => checkIdenticalGeneration({ generationId, owner, dependencies, progress })),
      );
      if (state.checkedAt) {
        firstCheckedAt ??= Date.parse(state.checkedAt);
        waitedMs = Date.parse(state.checkedAt) - firstCheckedAt;
      }
      if (state.status === "succeeded" && state.result) return state.result;
      if (state.status === "failed" || state.status === "canceled") break;
    }
  }
  throw new VideoGenerationError(
    "provider",
    `the identical generation ${lastOwner} this one waited for ended without a result ${settings.maxClaimRounds} times`,
    { code: "duplicate_failed", retryable: false },
  );
}
