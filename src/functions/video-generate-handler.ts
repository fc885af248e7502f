import { computeCacheKey, deriveSeed } from "../contract/cache-key.ts";
import type { GenerationWarning } from "../contract/generation-warning.ts";
import { planForImage, planGeneration } from "../contract/plan-generation.ts";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import { ProviderError } from "../errors/provider-error.ts";
import { VideoGenerationError } from "../errors/video-generation-error.ts";
import type { GenerationStage, GenerationStatus } from "../metadata/generation-record.ts";
import type { ProviderImage } from "../providers/provider.ts";
import type { StoredVideo } from "../storage/object-store.ts";
import { buildResponse } from "./build-response.ts";
import type { CheckedStatus } from "./checked-status.ts";
import { expectedRenderMs, nextPollDelayMs } from "./poll-schedule.ts";
import { reconcileSubmit } from "./reconcile-submit.ts";
import { describeRequestForRecord } from "./record-request.ts";
import { terminalStatusError } from "./terminal-status-error.ts";
import { toInngestError } from "./to-inngest-error.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";
import { EVENT_NAMES } from "./video-generation-events.ts";

/** The subset of Inngest's step tools the handler uses; the in-process runner implements the same. */
export interface StageStepTools {
  /** Runs `body` once per run (memoized by id); its result must be JSON. */
  run<T>(id: string, body: () => Promise<T>): Promise<T>;
  /** Durable sleep. */
  sleep(id: string, durationMs: number): Promise<void>;
  /** Durable event send (not repeated on replay). */
  sendEvent(id: string, payload: { name: string; data: unknown }): Promise<unknown>;
}

/** What the handler gets from Inngest (or from the in-process runner). */
export interface StageContext {
  event: { data: unknown; ts?: number };
  step: StageStepTools;
  /** The run's id; a generation without a client id is called `run-<runId>`. */
  runId: string;
  /** Zero-based attempt of the step being executed (for throttling backoff). */
  attempt: number;
  logger: {
    info(message: string, fields?: Record<string, unknown>): void;
    warn(message: string, fields?: Record<string, unknown>): void;
  };
}

/** Where the image to submit lives between steps: a URL the provider fetches, or a copy in the object store. */
type ImageReference =
  | { kind: "url"; url: string }
  | { kind: "stored"; key: string; contentType: string; filename: string };

/** What `resolve-image` hands to the later steps (JSON). */
interface ResolvedGeneration {
  cacheKey: string;
  seed: number;
  imageSha256: string;
  image: ImageReference;
  objectKey: string;
  warnings: GenerationWarning[];
}

/** Generation ids made by the stage: stable across replays of one run, distinct between runs. */
export function generationIdForRun(requestGenerationId: string | undefined, runId: string): string {
  return requestGenerationId ?? `run-${runId}`;
}

/**
 * The durable `video-generate` pipeline: validate → resolve-image → cache-check → claim → slot → submit →
 * (wait-N, poll-N)… → copy → persist → notify. Every side effect is a step with a stable id; code between steps is
 * deterministic, so a replay after a crash or deploy re-runs nothing that already happened. Errors leave each step
 * through `toInngestError`, the one place that decides what is retried.
 */
export async function runVideoGeneration(
  context: StageContext,
  dependencies: VideoGenerateDependencies,
): Promise<VideoGenerateResponse> {
  const { step, logger } = context;
  const { provider, objectStore, metadataStore, settings } = dependencies;
  const guarded =
    <T>(body: () => Promise<T>) =>
    async (): Promise<T> => {
      try {
        return await body();
      } catch (error) {
        throw toInngestError(error, context.attempt);
      }
    };
  /** Ends the run for good: the stage error travels as the cause of a NonRetriableError. */
  const fail = (category: "timeout" | "provider", code: string, message: string) =>
    toInngestError(new VideoGenerationError(category, message, { code, retryable: false }), context.attempt);
  const progress = async (
    generationId: string,
    stage: GenerationStage,
    extra: { status?: GenerationStatus; providerStatus?: string; progress?: number } = {},
  ) => {
    await metadataStore.recordProgress(generationId, {
      stage,
      status: extra.status,
      providerStatus: extra.providerStatus,
    });
    if (!dependencies.publishProgress) return;
    try {
      await dependencies.publishProgress({
        generationId,
        stage,
        providerStatus: extra.providerStatus,
        progress: extra.progress,
      });
    } catch (error) {
      logger.warn("progress publish failed", { generationId, error: String(error) });
    }
  };

  // 1. validate: schema and policy. An InputError leaves as NonRetriableError with the field-level message.
  const validated = await step.run(
    "validate",
    guarded(async () => {
      const plan = planGeneration(context.event.data, {
        defaultPolicy: settings.defaultPolicy,
        ffmpegAvailable: dependencies.copyConformed !== undefined,
      });
      const generationId = generationIdForRun(plan.request.generation_id, context.runId);
      await metadataStore.upsertGeneration({
        generationId,
        request: describeRequestForRecord(plan.request),
        cacheMode: plan.cacheMode,
        provider: provider.name,
        model: provider.model,
        correlation: plan.request.correlation ?? null,
        runId: context.runId,
      });
      await progress(generationId, "validate");
      return { generationId, plan, requestedAt: dependencies.now().toISOString() };
    }),
  );
  const { generationId, plan, requestedAt } = validated;
  const correlation = plan.request.correlation ?? null;

  // 2. resolve-image: read and check the image, apply the conform crop, compute the cache key.
  const resolved = await step.run(
    "resolve-image",
    guarded(async (): Promise<ResolvedGeneration> => {
      await progress(generationId, "resolve-image");
      const original = await dependencies.resolveImage(plan.request.reference_image);
      const imagePlan = planForImage(plan, original);
      const image =
        imagePlan.cropToAspect === undefined
          ? original
          : await dependencies.cropImage(original, imagePlan.cropToAspect);
      const cacheKey = computeCacheKey(plan, image.sha256);
      let reference: ImageReference;
      // A URL with a query string may be presigned: it must not land in a step output, so its bytes go by upload.
      if (image.publicUrl && !new URL(image.publicUrl).search) {
        reference = { kind: "url", url: image.publicUrl };
      } else {
        // Kept in the store, content-addressed, so submit (maybe in another process, after a restart) can read it.
        const key = `images/${image.sha256}.${image.format === "jpeg" ? "jpg" : image.format}`;
        await objectStore.putBytes(key, image.bytes, image.contentType);
        reference = {
          kind: "stored",
          key,
          contentType: image.contentType,
          filename: key.slice("images/".length),
        };
      }
      return {
        cacheKey,
        seed: plan.request.seed ?? deriveSeed(cacheKey),
        imageSha256: image.sha256,
        image: reference,
        objectKey: plan.cacheMode === "bypass" ? `videos/${generationId}.mp4` : `videos/${cacheKey}.mp4`,
        warnings: [...plan.warnings, ...original.warnings, ...imagePlan.warnings],
      };
    }),
  );

  const finish = async (response: VideoGenerateResponse): Promise<VideoGenerateResponse> => {
    // 8. persist: the final record; the slot is released (again: idempotent) in case a poll step did not get to it.
    const persisted = await step.run(
      "persist",
      guarded(async () => {
        const finalResponse = {
          ...response,
          timings: {
            ...response.timings,
            total_ms: Math.max(0, dependencies.now().getTime() - Date.parse(requestedAt)),
          },
        };
        await metadataStore.recordSucceeded(generationId, finalResponse);
        await metadataStore.releaseSlot(generationId);
        await progress(generationId, "done", { progress: 1 });
        return finalResponse;
      }),
    );
    // 9. notify: fan-in for orchestrators, with the request's correlation.
    await step.sendEvent("notify", { name: EVENT_NAMES.completed, data: { ...persisted, correlation } });
    return persisted;
  };

  // A stored result answers this request: the original's file and facts, with this request's id, warnings and no cost.
  const answerFromStored = (stored: VideoGenerateResponse): VideoGenerateResponse => ({
    ...stored,
    generation_id: generationId,
    cache_hit: true,
    warnings: resolved.warnings,
    cost_estimate: { currency: stored.cost_estimate.currency, amount: 0 },
    timings: { queued_ms: null, render_ms: null, copy_ms: null, total_ms: null },
  });

  // 3. cache-check: a succeeded record whose object still exists answers without any provider call.
  if (plan.cacheMode === "use") {
    const cached = await step.run(
      "cache-check",
      guarded(async () => {
        await progress(generationId, "cache-check");
        const record = await metadataStore.findSucceededByCacheKey(resolved.cacheKey);
        if (!record?.result) return null;
        // Self-healing: a record whose object is gone is a miss, and this run writes the object again.
        if (!(await objectStore.exists(`videos/${resolved.cacheKey}.mp4`))) return null;
        return record.result;
      }),
    );
    if (cached) return finish(answerFromStored(cached));
  }

  // 4. claim: one provider task per cache key; an identical request in flight is waited for, not submitted again.
  let duplicateChecksUsed = 0;
  for (let round = 0; round < settings.maxClaimRounds; round++) {
    const suffix = round === 0 ? "" : `-${round}`;
    const claim = await step.run(
      `claim${suffix}`,
      guarded(async () => {
        await progress(generationId, "claim");
        return metadataStore.claim({
          generationId,
          cacheKey: resolved.cacheKey,
          imageSha256: resolved.imageSha256,
          warnings: resolved.warnings,
        });
      }),
    );
    if (claim.outcome === "claimed") break;

    const owner = claim.owner.generationId;
    logger.info("identical generation in flight; waiting for it", { generationId, owner });
    const ownerResult = await waitForOwner(owner, suffix);
    if (ownerResult) return finish(answerFromStored(ownerResult));
    if (round === settings.maxClaimRounds - 1) {
      throw fail(
        "provider",
        "duplicate_failed",
        `the identical generation ${owner} this one waited for ended without a result ${settings.maxClaimRounds} times`,
      );
    }
  }

  /**
   * Waits for the generation that holds the cache key, by reading its record (no provider calls). Its own run bounds
   * how long this takes (slot attempts, deadline, copy), so the waiter's clock is the owner's: while the owner is
   * queued for a budget slot the waiter checks every few seconds; once it has submitted, on the poll schedule from the
   * owner's submit time. A step budget shared by all rounds keeps a waiter on a dead owner from running for ever.
   */
  async function waitForOwner(owner: string, suffix: string): Promise<VideoGenerateResponse | null> {
    const expected = expectedRenderMs({
      duration: plan.provider.duration,
      resolution: plan.provider.resolution,
      overrideSeconds: settings.renderEstimateSeconds,
    });
    let sinceOwnerSubmitMs: number | null = null;
    for (let check = 0; ; check++) {
      if (duplicateChecksUsed++ >= settings.maxDuplicateChecks) {
        throw fail(
          "timeout",
          "deadline_exceeded",
          `the identical generation ${owner} this one waits for did not finish within ${settings.maxDuplicateChecks} checks`,
        );
      }
      const delay =
        sinceOwnerSubmitMs === null
          ? Math.min(30_000, Math.round(2_000 * 1.3 ** check))
          : (nextPollDelayMs({
              attempt: check,
              elapsedMs: sinceOwnerSubmitMs,
              expectedRenderMs: expected,
              deadlineMs: settings.deadlineMs,
              maxChecks: Number.MAX_SAFE_INTEGER,
            }) ?? 30_000);
      await step.sleep(`duplicate-wait${suffix}-${check}`, delay);
      const ownerState = await step.run(
        `duplicate-check${suffix}-${check}`,
        guarded(async () => {
          const record = await metadataStore.get(owner);
          await progress(generationId, "waiting-for-duplicate", {
            providerStatus: record?.providerStatus ?? undefined,
          });
          const submittedAt = record?.submittedAt ? Date.parse(record.submittedAt) : null;
          return {
            status: record?.status ?? "failed",
            result: record?.result ?? null,
            sinceSubmitMs:
              submittedAt === null ? null : Math.max(0, dependencies.now().getTime() - submittedAt),
          };
        }),
      );
      if (ownerState.status === "succeeded" && ownerState.result) return ownerState.result;
      if (ownerState.status === "failed" || ownerState.status === "canceled") return null;
      sinceOwnerSubmitMs = ownerState.sinceSubmitMs;
    }
  }

  // 5. slot: the account-wide in-flight budget, held in the database across sleeps (Inngest concurrency does not
  //    count sleeping runs). No free slot: sleep durably and try again, up to the queue timeout.
  let queuedSince: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const slot = await step.run(
      `slot-${attempt}`,
      guarded(async () => {
        const acquired = await metadataStore.acquireSlot(generationId, {
          limit: settings.budget,
          leaseMs: settings.slotLeaseMs,
        });
        if (!acquired) await progress(generationId, "waiting-for-slot");
        const checkedAt = dependencies.now();
        const waitedMs = queuedSince === undefined ? 0 : checkedAt.getTime() - Date.parse(queuedSince);
        // Jittered backoff, decided inside the step so a replay sleeps exactly as the first execution did: 2 s
        // growing to 30 s, then 120 s after half an hour in the queue (a long queue has many runs retrying anyway).
        const capMs = waitedMs < 30 * 60_000 ? 30_000 : 120_000;
        const retryInMs = Math.round(
          Math.min(capMs, 2_000 * 1.5 ** Math.min(attempt, 12)) * (0.75 + Math.random() * 0.5),
        );
        return { acquired, retryInMs, checkedAt: checkedAt.toISOString(), waitedMs };
      }),
    );
    if (slot.acquired) break;
    queuedSince ??= slot.checkedAt;
    if (slot.waitedMs + slot.retryInMs > settings.queueTimeoutMs) {
      throw fail(
        "timeout",
        "budget_exhausted",
        `no provider slot became free within ${Math.round(slot.waitedMs / 60_000)} min of waiting (VIDEO_GEN_BUDGET=${settings.budget}, VIDEO_GEN_QUEUE_TIMEOUT_S=${Math.round(settings.queueTimeoutMs / 1000)})`,
      );
    }
    await step.sleep(`slot-wait-${attempt}`, slot.retryInMs);
  }

  // 6. submit: one billable call. The attempt is recorded before the POST and the task id in the same step, so a
  //    retry after an ambiguous failure reconciles with the provider's task list instead of submitting again.
  const submitted = await step.run(
    "submit",
    guarded(async () => {
      await progress(generationId, "submit");
      const previous = await metadataStore.beginSubmit(generationId);
      if (previous.previousState === "accepted") {
        const record = await metadataStore.get(generationId);
        if (record?.taskId)
          return {
            taskId: record.taskId,
            submittedAt: record.submittedAt ?? dependencies.now().toISOString(),
          };
      }
      if (previous.previousState === "in_flight" && previous.previousAttemptAt) {
        const adopted = await reconcileSubmit({
          provider,
          metadataStore,
          generationId,
          attemptedAt: new Date(previous.previousAttemptAt),
          now: dependencies.now(),
        });
        if (adopted) {
          logger.warn("adopted the task an ambiguous submit had created", { generationId, taskId: adopted });
          return { taskId: adopted, submittedAt: previous.previousAttemptAt };
        }
      }
      const image: ProviderImage =
        resolved.image.kind === "url"
          ? { kind: "url", url: resolved.image.url }
          : {
              kind: "bytes",
              bytes: await objectStore.getBytes(resolved.image.key, 20 * 1024 * 1024),
              contentType: resolved.image.contentType,
              filename: resolved.image.filename,
            };
      let started: Awaited<ReturnType<typeof provider.start>>;
      try {
        started = await provider.start({ ...plan.provider, seed: resolved.seed, image });
      } catch (error) {
        // Only an ambiguous failure may have created a task; anything else definitely did not.
        if (!(error instanceof ProviderError && error.kind === "ambiguous_submit")) {
          await metadataStore.recordSubmitRejected(generationId);
        }
        throw error;
      }
      await metadataStore.recordSubmitted(generationId, {
        taskId: started.taskId,
        providerRequestId: started.requestId,
      });
      return { taskId: started.taskId, submittedAt: dependencies.now().toISOString() };
    }),
  );
  const { taskId } = submitted;

  // 7. poll: sleep, then one status check, on the adaptive schedule; bounded count and a hard deadline.
  const expected = expectedRenderMs({
    duration: plan.provider.duration,
    resolution: plan.provider.resolution,
    overrideSeconds: settings.renderEstimateSeconds,
  });
  let last: CheckedStatus | undefined;
  let runningSinceMs: number | undefined;
  let elapsedMs = 0;
  for (let check = 0; ; check++) {
    const delay = nextPollDelayMs({
      attempt: check,
      elapsedMs,
      providerStatus: last?.status === "running" ? "running" : last ? "pending" : undefined,
      runningSinceMs,
      expectedRenderMs: expected,
      deadlineMs: settings.deadlineMs,
      maxChecks: settings.maxStatusChecks,
    });
    if (delay === null) {
      await step.run(
        "deadline",
        guarded(async () => {
          const status = await provider.status(taskId);
          if (status.status === "pending") await provider.cancel(taskId).catch(() => undefined);
          await metadataStore.releaseSlot(generationId);
          return { canceled: status.status === "pending", providerStatus: status.status };
        }),
      );
      throw fail(
        "timeout",
        "deadline_exceeded",
        `task ${taskId} did not finish within ${Math.round(settings.deadlineMs / 1000)} s (VIDEO_GEN_DEADLINE_S)`,
      );
    }
    await step.sleep(`wait-${check}`, delay);
    const checked: CheckedStatus = await step.run(
      `poll-${check}`,
      guarded(async () => {
        // Canceled from elsewhere (`video-gen cancel`, the cancel function) while this run slept: stop here.
        if ((await metadataStore.get(generationId))?.status === "canceled") {
          return {
            status: "canceled",
            providerStatus: "CANCELED",
            checkedAt: dependencies.now().toISOString(),
          };
        }
        const status = await provider.status(taskId);
        const terminal = status.status !== "pending" && status.status !== "running";
        if (terminal) await metadataStore.releaseSlot(generationId);
        else await metadataStore.renewSlot(generationId, settings.slotLeaseMs);
        const providerStatus =
          "providerStatus" in status ? status.providerStatus : status.status.toUpperCase();
        await progress(generationId, "rendering", {
          status: "submitted",
          providerStatus,
          progress: Math.min(0.95, (elapsedMs + delay) / expected),
        });
        const result: CheckedStatus = {
          status: status.status,
          providerStatus,
          checkedAt: dependencies.now().toISOString(),
        };
        if ("scheduledAt" in status && status.scheduledAt) result.scheduledAt = status.scheduledAt;
        if ("endedAt" in status && status.endedAt) result.endedAt = status.endedAt;
        if (status.status === "failed") Object.assign(result, { code: status.code, message: status.message });
        return result;
      }),
    );
    elapsedMs += delay;
    if (checked.status === "running" && runningSinceMs === undefined) runningSinceMs = elapsedMs;
    last = checked;
    if (checked.status === "pending" || checked.status === "running") continue;
    if (checked.status === "succeeded") break;
    throw toInngestError(terminalStatusError(taskId, checked), context.attempt);
  }

  // 7b. copy: a fresh status call gives the signed URL inside this step only; the file is streamed into storage.
  const copied = await step.run(
    "copy",
    guarded(async () => {
      await progress(generationId, "copy", { status: "copying" });
      const status = await provider.status(taskId);
      if (status.status !== "succeeded") {
        throw terminalStatusError(taskId, {
          status: status.status,
          providerStatus: status.status,
          checkedAt: "",
        });
      }
      const startedAt = dependencies.now().getTime();
      const conform = plan.conform;
      const needsConform = conform.fps !== undefined || conform.width !== undefined;
      let stored: StoredVideo;
      if (needsConform && dependencies.copyConformed) {
        stored = await dependencies.copyConformed({
          sourceUrl: status.videoUrl,
          key: resolved.objectKey,
          ...conform,
        });
      } else {
        stored = await objectStore.copyFromUrl(status.videoUrl, resolved.objectKey);
      }
      return {
        stored,
        usage: status.usage,
        scheduledAt: status.scheduledAt,
        endedAt: status.endedAt,
        copyMs: dependencies.now().getTime() - startedAt,
      };
    }),
  );

  return finish(
    buildResponse({
      generationId,
      plan,
      seed: resolved.seed,
      warnings: resolved.warnings,
      taskId,
      model: provider.model,
      submittedAt: submitted.submittedAt,
      scheduledAt: copied.scheduledAt ?? last?.scheduledAt,
      endedAt: copied.endedAt ?? last?.endedAt,
      copyMs: copied.copyMs,
      stored: copied.stored,
      usage: copied.usage,
      prices: settings.prices,
    }),
  );
}
