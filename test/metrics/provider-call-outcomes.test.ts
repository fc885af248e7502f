import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors/provider-error.ts";
import { instrumentProvider } from "../../src/metrics/instrument-provider.ts";
import { providerCallOutcome } from "../../src/metrics/provider-call-outcome.ts";
import { createStageMetrics, type StageMetrics } from "../../src/metrics/stage-metrics.ts";
import { createDashscopeVideoProvider } from "../../src/providers/dashscope/index.ts";
import type { ProviderStartInput, VideoProvider } from "../../src/providers/provider.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { expectBoundedLabels } from "./bounded-labels.ts";
import { scrape, sumOf } from "./exposition.ts";

/**
 * Each real provider call is counted once by operation and outcome, classified from the error the DashScope client
 * raised: the real client over HTTP against the sandbox, its faults injected per call.
 */

let sandbox: SandboxHandle;
let dispatcher: Agent;
let metrics: StageMetrics;
let provider: VideoProvider;

beforeAll(async () => {
  sandbox = await startSandbox({ timings: { pendingMs: 2_000, renderMs: 100 }, submitsPerSecond: 100 });
  dispatcher = new Agent();
});
afterAll(async () => {
  await sandbox?.close();
  await dispatcher?.close();
});
beforeEach(() => {
  sandbox.faults.clear();
  metrics = createStageMetrics({ version: "0.1.0", model: "wan2.6-i2v-flash", budgetLimit: 5 });
  provider = instrumentProvider(
    createDashscopeVideoProvider({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, dispatcher }),
    metrics,
  );
});

const startInput = (overrides: Partial<ProviderStartInput> = {}): ProviderStartInput => ({
  prompt: "a lighthouse at dusk",
  resolution: "720P",
  duration: 2,
  seed: 7,
  audio: false,
  image: { kind: "url", url: `data:image/jpeg;base64,${SAMPLE_JPEG}` },
  ...overrides,
});

/** The repository's sample reference image, sent inline. */
const SAMPLE_JPEG = (
  await readFile(fileURLToPath(new URL("../../fixtures/sample-reference.jpg", import.meta.url)))
).toString("base64");

async function calls(operation: string) {
  const samples = await scrape(metrics);
  const byOutcome: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== "video_generation_provider_calls_total" || sample.labels.operation !== operation)
      continue;
    if (sample.value > 0) byOutcome[sample.labels.outcome!] = sample.value;
  }
  return byOutcome;
}

describe("provider calls by operation and outcome", () => {
  it("counts answered calls as ok, once each", async () => {
    const { taskId } = await provider.start(startInput());
    await provider.status(taskId);
    await provider.status(taskId);
    await provider.cancel(taskId);
    await provider.listTasks({ pageNo: 1 });
    expect(await calls("submit")).toEqual({ ok: 1 });
    expect(await calls("status")).toEqual({ ok: 2 });
    expect(await calls("cancel")).toEqual({ ok: 1 });
    expect(await calls("list")).toEqual({ ok: 1 });
  });

  it("counts a 429 as throttled, apart from other failures", async () => {
    sandbox.faults.inject({ route: "submit", kind: "throttle", times: 2 });
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(provider.start(startInput())).rejects.toMatchObject({ kind: "throttled" });
    }
    await provider.start(startInput());
    expect(await calls("submit")).toEqual({ throttled: 2, ok: 1 });
    const samples = await scrape(metrics);
    expect(sumOf(samples, "video_generation_provider_calls_total", { outcome: "throttled" })).toBe(2);
  });

  it("tells server errors from network errors", async () => {
    const { taskId } = await provider.start(startInput());
    sandbox.faults.inject({ route: "status", kind: "server-error" });
    await expect(provider.status(taskId)).rejects.toBeInstanceOf(ProviderError);
    sandbox.faults.inject({ route: "status", kind: "unavailable" });
    await expect(provider.status(taskId)).rejects.toBeInstanceOf(ProviderError);
    sandbox.faults.inject({ route: "list", kind: "reset" });
    await expect(provider.listTasks({ pageNo: 1 })).rejects.toBeInstanceOf(ProviderError);
    expect(await calls("status")).toEqual({ server_error: 2 });
    expect(await calls("list")).toEqual({ network_error: 1 });
  });

  it("counts a request refused as sent as client_error, and a rejected key as auth_error", async () => {
    await expect(provider.start(startInput({ duration: 99 }))).rejects.toMatchObject({ kind: "rejected" });
    const wrongKey = instrumentProvider(
      createDashscopeVideoProvider({ apiKey: "sk-wrong", baseUrl: sandbox.baseUrl, dispatcher }),
      metrics,
    );
    await expect(wrongKey.status("any-task")).rejects.toMatchObject({ name: "ConfigurationError" });
    expect(await calls("submit")).toEqual({ client_error: 1 });
    expect(await calls("status")).toEqual({ auth_error: 1 });
  });

  it("counts a call the stage gave up on as aborted", async () => {
    sandbox.faults.inject({ route: "list", kind: "slow", delayMs: 5_000 });
    const controller = new AbortController();
    const listing = provider.listTasks({ pageNo: 1 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(listing).rejects.toBeDefined();
    expect(await calls("list")).toEqual({ aborted: 1 });
  });

  it("classifies the rest of the error family", () => {
    const error = (kind: ProviderError["kind"], httpStatus?: number) =>
      new ProviderError("x", { kind, code: "c", ...(httpStatus ? { httpStatus } : {}) });
    expect(providerCallOutcome(error("content_rejected", 400))).toBe("content_rejected");
    expect(providerCallOutcome(error("invalid_response", 200))).toBe("invalid_response");
    expect(providerCallOutcome(error("ambiguous_submit"))).toBe("network_error");
    expect(providerCallOutcome(error("ambiguous_submit", 500))).toBe("server_error");
    expect(providerCallOutcome(error("rejected", 401))).toBe("auth_error");
    expect(providerCallOutcome(error("task_failed"))).toBe("other");
    expect(providerCallOutcome(new TypeError("bug"))).toBe("other");
    expect(providerCallOutcome(new TypeError("bug"), { aborted: true })).toBe("aborted");
  });

  it("exports only bounded labels", async () => {
    const { taskId } = await provider.start(startInput());
    sandbox.faults.inject({ route: "status", kind: "throttle" });
    await provider.status(taskId).catch(() => undefined);
    expectBoundedLabels(await scrape(metrics));
  });
});
