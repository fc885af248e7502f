import { setTimeout as delay } from "node:timers/promises";

/** Thrown by a probe to stop waiting at once (the condition can no longer become true). */
export class WaitAborted extends Error {}

/**
 * Polls `probe` every `intervalMs` until it returns something other than `undefined`, and returns that; fails after
 * `timeoutMs` with `description` and the last error seen. Errors count as "not yet" (a server still starting),
 * except {@link WaitAborted}. For conditions on servers: never a fixed sleep.
 */
export async function waitUntil<T>(
  description: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      if (error instanceof WaitAborted) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${detail}`);
    }
    await delay(intervalMs);
  }
}
