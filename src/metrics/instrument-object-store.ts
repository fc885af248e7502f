import type { ObjectStore } from "../storage/object-store.ts";
import { instrumentMethods } from "./instrument-methods.ts";
import type { StageMetrics, StorageOutcome } from "./stage-metrics.ts";

/** `copyFromUrl` → `copy_from_url`: the operation label of a store method. */
function operationName(method: string): string {
  return method.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * The object store, with every asynchronous operation counted by operation and outcome
 * (`video_generation_storage_operations_total`). Synchronous helpers (`urlFor`, `uriFor`) do no I/O and are not
 * counted. The label set is the store's own method names, so it stays bounded.
 */
export function instrumentObjectStore(store: ObjectStore, metrics: StageMetrics): ObjectStore {
  return instrumentMethods(store, (name, method) => {
    const operation = operationName(name);
    return (...args) => {
      const result = method(...args);
      if (!(result instanceof Promise)) return result;
      return result.then(
        (value) => {
          metrics.storageOperation(operation, "ok");
          return value;
        },
        (error: unknown) => {
          metrics.storageOperation(operation, storageOutcome(error, args));
          throw error;
        },
      );
    };
  });
}

/** The outcome of a failed operation, from the StorageError's code and the call's own signal. */
function storageOutcome(error: unknown, args: unknown[]): StorageOutcome {
  const signal = args
    .map((arg) => (arg as { signal?: unknown } | null)?.signal)
    .find((candidate): candidate is AbortSignal => candidate instanceof AbortSignal);
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  if (signal?.aborted || name === "AbortError" || code === "aborted") return "aborted";
  if (code === "object_not_found") return "not_found";
  if (code === "invalid_range" || code === "range_not_satisfiable") return "invalid_range";
  return "error";
}
