/** Time for the in-process runner: real by default, injectable so tests need not wait. */
export interface RunnerClock {
  now(): Date;
  /** Resolves after `milliseconds`, or rejects with the signal's reason when it is aborted first. */
  sleep(milliseconds: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: RunnerClock = {
  now: () => new Date(),
  sleep: (milliseconds, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, milliseconds);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/**
 * Real time with sleeps `factor` times shorter: the poll schedule's sleeps pass quickly while everything else (a
 * provider or sandbox) keeps real time. For tests and benchmarks.
 */
export function createScaledClock(factor: number): RunnerClock {
  return {
    now: systemClock.now,
    sleep: (milliseconds, signal) => systemClock.sleep(milliseconds / factor, signal),
  };
}
