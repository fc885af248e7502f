import { ProviderError } from "../errors/provider-error.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { VideoProvider } from "../providers/provider.ts";

/** Tasks created this long before the recorded attempt still count (clock skew between us and the provider). */
const BEFORE_ATTEMPT_MS = 60_000;
/** …and this long after it (the submit request's own timeout plus skew). */
const AFTER_ATTEMPT_MS = 180_000;

/**
 * After a submit whose outcome is unknown (timeout, reset, 5xx after the body was sent), finds the task it may have
 * created: the provider's tasks of this model created around the attempt that no generation has recorded. Exactly one
 * → adopted (recorded for this generation) and returned. None → null: nothing was created, submitting is safe.
 * Several → a retryable error: other runs may not have recorded theirs yet, so the step tries again later rather
 * than guess (a wrong guess would steal another run's task; a blind resubmit would bill twice).
 */
export async function reconcileSubmit(input: {
  provider: VideoProvider;
  metadataStore: MetadataStore;
  generationId: string;
  attemptedAt: Date;
  now: Date;
}): Promise<string | null> {
  const from = new Date(input.attemptedAt.getTime() - BEFORE_ATTEMPT_MS);
  const to = new Date(Math.max(input.now.getTime(), input.attemptedAt.getTime() + AFTER_ATTEMPT_MS));
  const tasks = await input.provider.listTasks({ from, to });
  const inWindow = tasks.filter((task) => {
    const created = Date.parse(task.createdAt);
    return created >= from.getTime() && created <= input.attemptedAt.getTime() + AFTER_ATTEMPT_MS;
  });
  const known = await input.metadataStore.knownTaskIds(inWindow.map((task) => task.taskId));
  const candidates = inWindow.filter((task) => !known.has(task.taskId));
  if (candidates.length === 0) return null;
  if (candidates.length > 1) {
    throw new ProviderError(
      `cannot tell which of ${candidates.length} unrecorded tasks the ambiguous submit created; checking again before any resubmission`,
      { kind: "transient", code: "reconcile_ambiguous", operation: "list" },
    );
  }
  const taskId = candidates[0]!.taskId;
  await input.metadataStore.recordSubmitted(input.generationId, { taskId });
  return taskId;
}
