/**
 * A sliding one-second window per key (an account, or an account and a model), in real elapsed time: what DashScope's
 * "N QPS" limits mean for an emulator that answers 429 `Throttling.RateQuota` beyond them.
 */
export interface RateLimiter {
  /** Admits one request for `key` if fewer than the limit were admitted in the last second; false otherwise. */
  admit(key?: string): boolean;
}

export function createRateLimiter(perSecond: number): RateLimiter {
  const admitted = new Map<string, number[]>();
  return {
    admit(key = "") {
      const current = performance.now();
      const recent = (admitted.get(key) ?? []).filter((time) => current - time < 1000);
      if (recent.length >= perSecond) {
        admitted.set(key, recent);
        return false;
      }
      recent.push(current);
      admitted.set(key, recent);
      return true;
    },
  };
}
