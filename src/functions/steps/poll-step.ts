import type { ProviderTaskStatus } from "../../providers/provider.ts";
import type { CheckedStatus } from "../checked-status.ts";
import { providerBudget } from "../provider-budget.ts";
import type { RecordProgress } from "../record-progress.ts";
import type { VideoGenerateDependencies } from "../video-generate-dependencies.ts";

/**
 * Step `poll-<n>`: one status check (no signed URL leaves the step). A task that ended frees its budget slot at once,
 * handed to the oldest waiter; a task still going renews its lease. A generation canceled from elsewhere while this
 * run slept reports `canceled` without asking the provider.
 */
export async function checkTask(input: {
  generationId: string;
  taskId: string;
  /** Rough 0..1 estimate for progress displays. */
  progress: number;
  dependencies: VideoGenerateDependencies;
  recordProgress: RecordProgress;
}): Promise<CheckedStatus> {
  const { generationId, taskId, dependencies } = input;
  const { metadataStore, provider } = dependencies;
  if ((await metadataStore.get(generationId))?.status === "canceled") {
    return {
      status: "canceled",
      providerStatus: "CANCELED",
      checkedAt: dependencies.now().toISOString(),
      generationCanceled: true,
    };
  }
  const status: ProviderTaskStatus | SignalledSuccess =
    (await succeededAsSignalled(input)) ?? (await provider.status(taskId));
  const terminal = status.status !== "pending" && status.status !== "running";
  const budget = providerBudget(dependencies);
  let grantedTo: string[] = [];
  let waiting = 0;
  if (terminal) ({ grantedTo } = await budget.release(generationId));
  else ({ waiting } = await budget.renew(generationId));
  const providerStatus = "providerStatus" in status ? status.providerStatus : status.status.toUpperCase();
  await input.recordProgress(generationId, "rendering", {
    status: "submitted",
    providerStatus,
    progress: input.progress,
  });
  const result: CheckedStatus = {
    status: status.status,
    providerStatus,
    checkedAt: dependencies.now().toISOString(),
  };
  if ("scheduledAt" in status && status.scheduledAt) result.scheduledAt = status.scheduledAt;
  if ("endedAt" in status && status.endedAt) result.endedAt = status.endedAt;
  if (status.status === "failed") Object.assign(result, { code: status.code, message: status.message });
  if (grantedTo.length > 0) result.grantedTo = grantedTo;
  if (waiting > 0) result.slotWanted = true;
  // The run checked on its own: the watcher's signal did not come. Without a watcher holding the lease, wake one.
  if (!terminal && dependencies.settings.taskWatcher && !(await metadataStore.watcherActive())) {
    result.watcherWanted = true;
  }
  return result;
}

/**
 * The success the task watcher or the push recorded for this very task, as a status (no provider query: the copy
 * step's own query fetches the video's URL and confirms it); undefined otherwise, and for any other ending, whose
 * error code only the provider's answer holds.
 */
async function succeededAsSignalled(input: {
  generationId: string;
  taskId: string;
  dependencies: VideoGenerateDependencies;
}): Promise<SignalledSuccess | undefined> {
  if (!input.dependencies.settings.taskWatcher) return undefined;
  const recorded = await input.dependencies.metadataStore.recordedTaskEnd(input.generationId);
  if (recorded?.taskId !== input.taskId || recorded.status !== "SUCCEEDED") return undefined;
  return { status: "succeeded", providerStatus: "SUCCEEDED" };
}

/** A success known from a signal: no times and no URL (the copy step's query has both). */
interface SignalledSuccess {
  status: "succeeded";
  providerStatus: "SUCCEEDED";
}

/**
 * Step `deadline`: the task did not finish in time. A task still PENDING is canceled (it costs nothing yet; a
 * RUNNING one cannot be canceled and is billed), and the budget slot is freed.
 */
export async function giveUpOnTask(input: {
  generationId: string;
  taskId: string;
  dependencies: VideoGenerateDependencies;
}): Promise<{ canceled: boolean; providerStatus: string; grantedTo: string[] }> {
  const { generationId, taskId, dependencies } = input;
  const { provider } = dependencies;
  const status = await provider.status(taskId);
  if (status.status === "pending") await provider.cancel(taskId).catch(() => undefined);
  const { grantedTo } = await providerBudget(dependencies).release(generationId);
  return { canceled: status.status === "pending", providerStatus: status.status, grantedTo };
}
