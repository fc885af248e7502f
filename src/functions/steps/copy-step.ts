import type { GenerationPlan } from "../../contract/plan-generation.ts";
import type { ProviderUsage } from "../../providers/provider.ts";
import type { StoredVideo } from "../../storage/object-store.ts";
import type { RecordProgress } from "../record-progress.ts";
import { terminalStatusError } from "../terminal-status-error.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/** What `copy` hands to the response: the stored file's measured facts and the provider's record of the task. */
export interface CopiedVideo {
  stored: StoredVideo;
  usage: ProviderUsage | null;
  scheduledAt: string | undefined;
  endedAt: string | undefined;
  copyMs: number;
}

/**
 * Step `copy`: a fresh status call gives the signed result URL inside this step only (it is a secret and expires);
 * the file is streamed into storage under a deterministic key, so a retried copy overwrites itself. The conform
 * policy's resampling and scaling happen here.
 */
export async function copyResult(input: {
  generationId: string;
  taskId: string;
  plan: GenerationPlan;
  objectKey: string;
  dependencies: VideoGenerateDependencies;
  progress: RecordProgress;
}): Promise<CopiedVideo> {
  const { dependencies, taskId, plan } = input;
  await input.progress(input.generationId, "copy", { status: "copying" });
  const status = await dependencies.provider.status(taskId);
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
  const stored =
    needsConform && dependencies.copyConformed
      ? await dependencies.copyConformed({ sourceUrl: status.videoUrl, key: input.objectKey, ...conform })
      : await dependencies.objectStore.copyFromUrl(status.videoUrl, input.objectKey);
  return {
    stored,
    usage: status.usage,
    scheduledAt: status.scheduledAt,
    endedAt: status.endedAt,
    copyMs: dependencies.now().getTime() - startedAt,
  };
}
