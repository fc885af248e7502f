import type { VideoProvider } from "../providers/provider.ts";
import { providerCallOutcome } from "./provider-call-outcome.ts";
import type { ProviderOperation, StageMetrics } from "./stage-metrics.ts";

/**
 * The provider, with every call counted once by operation and outcome (`video_generation_provider_calls_total`).
 * Counted where the call is made, so a step retry that calls again is a second real call, and a replayed step whose
 * output Inngest memoized calls nothing and counts nothing.
 */
export function instrumentProvider(provider: VideoProvider, metrics: StageMetrics): VideoProvider {
  const counted = async <T>(
    operation: ProviderOperation,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
  ): Promise<T> => {
    try {
      const result = await call();
      metrics.providerCall(operation, "ok");
      return result;
    } catch (error) {
      metrics.providerCall(operation, providerCallOutcome(error, { aborted: signal?.aborted }));
      throw error;
    }
  };
  return {
    get name() {
      return provider.name;
    },
    get model() {
      return provider.model;
    },
    start: (input, options) => counted("submit", options?.signal, () => provider.start(input, options)),
    status: (taskId, options) => counted("status", options?.signal, () => provider.status(taskId, options)),
    cancel: (taskId, options) => counted("cancel", options?.signal, () => provider.cancel(taskId, options)),
    listTasks: (query, options) => counted("list", options?.signal, () => provider.listTasks(query, options)),
  };
}
