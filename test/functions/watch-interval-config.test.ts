import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";

const base = { DASHSCOPE_API_KEY: "sk-test-watch-interval" };

describe("VIDEO_GEN_WATCH_INTERVAL_MS", () => {
  it("is unset by default: the watcher's own default applies (1 s, or 30 s with the push)", () => {
    expect(loadConfig(base).watchIntervalMs).toBeUndefined();
  });

  it("takes whole milliseconds from 200 to 60000", () => {
    expect(loadConfig({ ...base, VIDEO_GEN_WATCH_INTERVAL_MS: "500" }).watchIntervalMs).toBe(500);
    expect(loadConfig({ ...base, VIDEO_GEN_WATCH_INTERVAL_MS: "60000" }).watchIntervalMs).toBe(60_000);
  });

  it("refuses values out of range, naming the variable and the rule", () => {
    expect(() => loadConfig({ ...base, VIDEO_GEN_WATCH_INTERVAL_MS: "100" })).toThrow(
      /VIDEO_GEN_WATCH_INTERVAL_MS must be at least 200/,
    );
    expect(() => loadConfig({ ...base, VIDEO_GEN_WATCH_INTERVAL_MS: "60001" })).toThrow(
      /VIDEO_GEN_WATCH_INTERVAL_MS must be at most 60000/,
    );
    expect(() => loadConfig({ ...base, VIDEO_GEN_WATCH_INTERVAL_MS: "1.5" })).toThrow(
      /VIDEO_GEN_WATCH_INTERVAL_MS must be a whole number/,
    );
  });
});
