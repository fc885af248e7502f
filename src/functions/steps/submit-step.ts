import type { ProviderParameters } from "../../contract/plan-generation.ts";
import { ProviderError } from "../../errors/provider-error.ts";
import { redactSecrets } from "../../net/redact.ts";
import type { ProviderStartResult } from "../../providers/provider.ts";
import { providerBudget } from "../provider-budget.ts";
import { reconcileSubmit } from "../reconcile-submit.ts";
import type { RecordProgress } from "../record-progress.ts";
import { estimateRenderMs, LEARNING_WINDOW, type RenderEstimate } from "../render-estimate.ts";
import type { StageContext } from "../stage-context.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import { ensureNotCanceled } from "./ensure-not-canceled.ts";
import { deliverImage } from "./image-delivery.ts";
import type { ResolvedGeneration } from "./resolve-image-step.ts";

/** What `submit` hands to the later steps. */
export interface SubmittedTask {
  taskId: string;
  /** When the task was created (or the attempt that created it began), ISO 8601. */
  submittedAt: string;
  /**
   * The render time the poll schedule expects, decided here (from this deployment's recorded renders) so that a
   * replay sleeps exactly as the first execution did. Absent in runs submitted before it was kept: the table.
   */
  renderEstimate?: RenderEstimate;
  /** Whether other generations were queued for a budget slot when the task was created (the first check comes sooner). */
  slotWanted?: boolean;
  /** Where a task watcher runs: none held its lease once the task was recorded, so the run wakes one. */
  watcherWanted?: boolean;
}

/**
 * Step `submit`: the one billable call. The attempt is recorded before the POST and the task id in the same step, so
 * a retry after an ambiguous failure (timeout, reset, 5xx after the body was sent) reconciles with the provider's
 * task list instead of submitting again; a task already recorded is resumed. A generation canceled while it was
 * queued never reaches the provider.
 */
export async function submitTask(input: SubmitInput): Promise<SubmittedTask> {
  const submitted = await submitOrResume(input);
  const { settings, metadataStore } = input.dependencies;
  // Asked after the task is recorded, under the watcher's lease row: either a watcher that is letting go sees this
  // task, or this answer is "none" and the run wakes one (see src/metadata/task-watch.ts).
  if (settings.taskWatcher && !(await metadataStore.watcherActive())) submitted.watcherWanted = true;
  return submitted;
}

/** What `submit` is given. */
interface SubmitInput {
  generationId: string;
  provider: ProviderParameters;
  /** The raw values from the event (the plan carries them redacted: they may be presigned). */
  referenceImage: string;
  audioUrl: string | undefined;
  resolved: ResolvedGeneration;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
  logger: StageContext["logger"];
}

async function submitOrResume(input: SubmitInput): Promise<SubmittedTask> {
  const { generationId, resolved, dependencies } = input;
  const { metadataStore, provider, settings } = dependencies;
  const record = await metadataStore.get(generationId);
  ensureNotCanceled(record, generationId);
  await input.progress(generationId, "submit");
  const renderEstimate = estimateRenderMs({
    duration: input.provider.duration,
    resolution: input.provider.resolution,
    seedSeconds: settings.renderEstimateSeconds,
    recent: await metadataStore.recentRenders({
      resolution: input.provider.resolution,
      limit: 4 * LEARNING_WINDOW,
    }),
  });
  // A task already recorded is resumed, never submitted again.
  if (record?.submitState === "accepted" && record.taskId) {
    return {
      taskId: record.taskId,
      submittedAt: record.submittedAt ?? dependencies.now().toISOString(),
      renderEstimate,
    };
  }
  // The last POST's outcome is unknown: it may have created (and billed) a task. The recorded attempt time stays
  // that POST's until the next one, however often this step is retried while the provider's list catches up.
  if (record?.submitState === "in_flight" && record.submitAttemptedAt) {
    const adopted = await reconcileSubmit({
      provider,
      metadataStore,
      generationId,
      attemptedAt: new Date(record.submitAttemptedAt),
      now: dependencies.now(),
    });
    if (adopted) {
      input.logger.warn("adopted the task an ambiguous submit had created", {
        generationId,
        taskId: adopted,
      });
      return { taskId: adopted, submittedAt: record.submitAttemptedAt, renderEstimate };
    }
  }
  const delivered = await deliverImage({ resolved, referenceImage: input.referenceImage, dependencies });
  // Recorded right before the POST: from here until its answer is recorded, the outcome is unknown.
  await metadataStore.beginSubmit(generationId);
  let started: ProviderStartResult;
  try {
    started = await provider.start({
      ...input.provider,
      // The plan names the audio URL redacted (it may be signed): the real one comes from the event.
      ...(input.provider.audioUrl === undefined || input.audioUrl === undefined
        ? {}
        : { audioUrl: input.audioUrl }),
      seed: resolved.seed,
      image: delivered.image,
    });
  } catch (error) {
    // Only an ambiguous failure may have created a task; anything else definitely did not.
    if (!(error instanceof ProviderError && error.kind === "ambiguous_submit")) {
      await metadataStore.recordSubmitRejected(generationId);
    }
    throw redactFromError(error, [delivered.secret, input.audioUrl]);
  }
  await metadataStore.recordSubmitted(generationId, {
    taskId: started.taskId,
    providerRequestId: started.requestId,
    resolution: input.provider.resolution,
    duration: input.provider.duration,
    imageDelivery: delivered.delivery,
  });
  const { waiting } = await providerBudget(dependencies).renew(generationId);
  return {
    taskId: started.taskId,
    submittedAt: dependencies.now().toISOString(),
    renderEstimate,
    slotWanted: waiting > 0,
  };
}

/** Strips secrets the step sent (a presigned image URL, a signed audio URL) from an error and its causes. */
function redactFromError(error: unknown, secrets: ReadonlyArray<string | undefined>): unknown {
  const signed = secrets.filter((secret): secret is string => Boolean(secret?.includes("?")));
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    current.message = redactSecrets(current.message, signed);
    if (current.stack) current.stack = redactSecrets(current.stack, signed);
    current = current.cause;
  }
  return error;
}
