import type { GenerationStage, GenerationStatus } from "../metadata/generation-record.ts";
import type { StageContext } from "./stage-context.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";

/** Where a generation stands, for progress displays. */
export interface ProgressDetails {
  status?: GenerationStatus;
  providerStatus?: string;
  /** Rough 0..1 estimate; the provider reports no percentage. */
  progress?: number;
}

/** Records progress in the metadata store and, when configured, publishes it (a failed publish never fails a step). */
export type RecordProgress = (
  generationId: string,
  stage: GenerationStage,
  details?: ProgressDetails,
) => Promise<void>;

export function createProgressRecorder(
  dependencies: Pick<VideoGenerateDependencies, "metadataStore" | "publishProgress">,
  logger: StageContext["logger"],
): RecordProgress {
  return async (generationId, stage, details = {}) => {
    await dependencies.metadataStore.recordProgress(generationId, {
      stage,
      status: details.status,
      providerStatus: details.providerStatus,
    });
    if (!dependencies.publishProgress) return;
    try {
      await dependencies.publishProgress({
        generationId,
        stage,
        providerStatus: details.providerStatus,
        progress: details.progress,
      });
    } catch (error) {
      logger.warn("progress publish failed", { generationId, error: String(error) });
    }
  };
}
