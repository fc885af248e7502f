import { TERMINAL_STATUSES } from "../metadata/generation-record.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { VideoProvider } from "../providers/provider.ts";

/** How a generation ended without a result. */
export type GenerationEnding =
  | { kind: "failed"; code: string; message: string }
  | { kind: "canceled"; reason: string };

export interface CleanUpResult {
  /** False when the record was already terminal (a succeeded generation is never marked failed afterwards). */
  changed: boolean;
  taskId: string | null;
  /** Whether the provider task was canceled (possible only while PENDING; a RUNNING task completes and is billed). */
  providerTaskCanceled: boolean;
  correlation: Record<string, unknown> | null;
}

/**
 * What every unsuccessful ending needs, shared by `onFailure`, the cancellation handler and the in-process runner:
 * cancel the provider task while it is still PENDING (it costs nothing yet), record the outcome, and free the budget
 * slot. Safe to run more than once.
 */
export async function cleanUpGeneration(input: {
  generationId: string;
  ending: GenerationEnding;
  provider: VideoProvider;
  metadataStore: MetadataStore;
}): Promise<CleanUpResult> {
  const { generationId, ending, provider, metadataStore } = input;
  const record = await metadataStore.get(generationId);
  await metadataStore.releaseSlot(generationId);
  if (!record) return { changed: false, taskId: null, providerTaskCanceled: false, correlation: null };
  const correlation = record.correlation;
  if (TERMINAL_STATUSES.includes(record.status)) {
    return { changed: false, taskId: record.taskId, providerTaskCanceled: false, correlation };
  }

  let providerTaskCanceled = false;
  if (record.taskId) {
    try {
      const status = await provider.status(record.taskId);
      if (status.status === "pending") {
        await provider.cancel(record.taskId);
        providerTaskCanceled = true;
      }
    } catch {
      // Best effort: the task may have started meanwhile (cancel is PENDING-only) or the provider is unreachable;
      // the outcome is recorded either way and the deadline bounds what a stray task can cost.
    }
  }
  if (ending.kind === "failed") {
    await metadataStore.recordFailed(generationId, { code: ending.code, message: ending.message });
  } else {
    const note =
      record.taskId && !providerTaskCanceled
        ? " (the provider task was already running and will be billed)"
        : "";
    await metadataStore.recordCanceled(generationId, { reason: `${ending.reason}${note}` });
  }
  return { changed: true, taskId: record.taskId, providerTaskCanceled, correlation };
}
