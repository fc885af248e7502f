import type { ProviderParameters } from "../../contract/plan-generation.ts";
import { ProviderError } from "../../errors/provider-error.ts";
import type { ProviderImage, ProviderStartResult } from "../../providers/provider.ts";
import { reconcileSubmit } from "../reconcile-submit.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { StageContext } from "../stage-context.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";
import { ensureNotCanceled } from "./ensure-not-canceled.ts";
import type { ResolvedGeneration } from "./resolve-image-step.ts";

/** What `submit` hands to the later steps. */
export interface SubmittedTask {
  taskId: string;
  /** When the task was created (or the attempt that created it began), ISO 8601. */
  submittedAt: string;
}

/** Largest stored reference image read back for an upload (the model's own limit). */
const REFERENCE_IMAGE_MAX_BYTES = 20 * 1024 * 1024;

/**
 * Step `submit`: the one billable call. The attempt is recorded before the POST and the task id in the same step, so
 * a retry after an ambiguous failure (timeout, reset, 5xx after the body was sent) reconciles with the provider's
 * task list instead of submitting again; a task already recorded is resumed. A generation canceled while it was
 * queued never reaches the provider.
 */
export async function submitTask(input: {
  generationId: string;
  provider: ProviderParameters;
  /** The raw audio URL from the event (the plan carries none: it may be presigned). */
  audioUrl: string | undefined;
  resolved: ResolvedGeneration;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
  logger: StageContext["logger"];
}): Promise<SubmittedTask> {
  const { generationId, resolved, dependencies } = input;
  const { metadataStore, objectStore, provider } = dependencies;
  ensureNotCanceled(await metadataStore.get(generationId), generationId);
  await input.progress(generationId, "submit");
  const previous = await metadataStore.beginSubmit(generationId);
  if (previous.previousState === "accepted") {
    const record = await metadataStore.get(generationId);
    if (record?.taskId) {
      return { taskId: record.taskId, submittedAt: record.submittedAt ?? dependencies.now().toISOString() };
    }
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
      input.logger.warn("adopted the task an ambiguous submit had created", {
        generationId,
        taskId: adopted,
      });
      return { taskId: adopted, submittedAt: previous.previousAttemptAt };
    }
  }
  const image: ProviderImage =
    resolved.image.kind === "url"
      ? { kind: "url", url: resolved.image.url }
      : {
          kind: "bytes",
          bytes: await objectStore.getBytes(resolved.image.key, REFERENCE_IMAGE_MAX_BYTES),
          contentType: resolved.image.contentType,
          filename: resolved.image.filename,
        };
  let started: ProviderStartResult;
  try {
    started = await provider.start({
      ...input.provider,
      ...(input.audioUrl === undefined ? {} : { audioUrl: input.audioUrl }),
      seed: resolved.seed,
      image,
    });
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
}
