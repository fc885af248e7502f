import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVideoGenerateFunctions } from "../../src/functions/video-generate.ts";
import { engineFor as engineOf, mockedSteps, sha1 } from "../helpers/inngest-test-engine.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";
import { expectBoundedLabels } from "./bounded-labels.ts";
import { type Sample, scrape, sumOf } from "./exposition.ts";

/**
 * The stage as composed for production (`composeStage`: the real DashScope client against the sandbox, the real
 * stores, the metrics decorators), run by Inngest's own execution engine (@inngest/test), which re-runs the handler
 * from the top for every step as Inngest does. Steps retried after a lost answer and a run replayed from the top
 * must not count a generation twice.
 */

let harness: StageHarness;
let videoGenerate: ReturnType<typeof createVideoGenerateFunctions>[0];

beforeAll(async () => {
  harness = await startStageHarness({ sandbox: { timings: { pendingMs: 100, renderMs: 200 } } });
  const client = new Inngest({ id: "video-agent", isDev: true });
  // @inngest/test cannot resolve a mocked waitForEvent: these runs check on their own schedule (no task watcher).
  [videoGenerate] = createVideoGenerateFunctions(client, {
    ...harness.dependencies,
    settings: { ...harness.dependencies.settings, taskWatcher: false },
  });
});
afterAll(() => harness?.close());

const engineFor = (data: Record<string, unknown>) => engineOf(videoGenerate, data);

/** How much each counter grew between two scrapes. */
function growth(before: Sample[], after: Sample[]) {
  return (name: string, labels: Record<string, string> = {}) =>
    (sumOf(after, name, labels) ?? 0) - (sumOf(before, name, labels) ?? 0);
}

describe("metrics of runs under the Inngest test engine", () => {
  it("count one start, one success and one submit through retried steps and a replay of the whole run", async () => {
    const before = await scrape(harness.runtime.metrics);
    const data = sampleRequest({ generation_id: "metrics-replayed", prompt: "counted once" });

    // `validate` ran, but its answer never reached Inngest: the next execution runs it again (a step retry).
    const validated = await engineFor(data).executeStep("validate", { steps: mockedSteps() });
    expect(validated.error).toBeUndefined();
    // Everything up to `persist` runs; then `persist`'s answer is lost too.
    const persisted = await engineFor(data).executeStep("persist", { steps: mockedSteps() });
    expect(persisted.error).toBeUndefined();
    // `state` holds every step before `persist`: memoized, they are not run again.
    const candidates = ["validate", "resolve-image", "cache-check", "claim", "slot-0", "submit", "copy"];
    for (let index = 0; index < 200; index++) candidates.push(`poll-${index}`);
    const memoized = candidates
      .filter((id) => sha1(id) in persisted.state)
      .map((id) => ({ id, handler: () => persisted.state[sha1(id)] }));
    expect(memoized.map((step) => step.id)).toContain("copy");
    // The retry of `persist` finishes the run.
    const resumed = await engineFor(data).execute({ steps: mockedSteps(memoized) });
    expect(resumed.error).toBeUndefined();
    const result = resumed.result as {
      cache_hit: boolean;
      duration: number;
      cost_estimate: { amount: number };
    };
    expect(result.cache_hit).toBe(false);
    // The whole run once more from the top with nothing memoized, as a replay of the event would: a cache hit.
    const replayed = await engineFor(data).execute({ steps: mockedSteps() });
    expect(replayed.error).toBeUndefined();
    expect(replayed.result).toMatchObject({ cache_hit: true });

    const after = await scrape(harness.runtime.metrics);
    const grew = growth(before, after);
    expect(harness.sandbox.tasks().filter((task) => task.prompt === "counted once")).toHaveLength(1);
    expect(grew("video_generation_started_total")).toBe(1);
    expect(grew("video_generation_finished_total")).toBe(1);
    expect(grew("video_generation_finished_total", { status: "succeeded", cache_hit: "false" })).toBe(1);
    expect(grew("video_generation_provider_calls_total", { operation: "submit", outcome: "ok" })).toBe(1);
    expect(grew("video_generation_estimated_cost_total")).toBeCloseTo(result.cost_estimate.amount, 9);
    expect(result.cost_estimate.amount).toBeGreaterThan(0);
    expect(grew("video_generation_output_video_seconds_total")).toBeCloseTo(result.duration, 9);
    expect(grew("video_generation_duration_seconds_count")).toBe(1);
    expect(grew("video_generation_render_duration_seconds_count")).toBe(1);
    expect(grew("video_generation_storage_operations_total", { outcome: "ok" })).toBeGreaterThan(0);
    expect(grew("video_generation_storage_operations_total", { outcome: "error" })).toBe(0);
  }, 120_000);

  it("count a throttled submit apart, and the retried submit as ok", async () => {
    const before = await scrape(harness.runtime.metrics);
    harness.sandbox.faults.inject({ route: "submit", kind: "throttle", times: 1 });
    const data = sampleRequest({ generation_id: "metrics-throttled", prompt: "throttled once, counted" });
    const first = await engineFor(data).execute({ steps: mockedSteps() });
    expect(first.error).toMatchObject({ name: "RetryAfterError" });
    const retried = await engineFor(data).execute({ steps: mockedSteps() });
    expect(retried.error).toBeUndefined();

    const grew = growth(before, await scrape(harness.runtime.metrics));
    expect(grew("video_generation_provider_calls_total", { operation: "submit", outcome: "throttled" })).toBe(
      1,
    );
    expect(grew("video_generation_provider_calls_total", { operation: "submit", outcome: "ok" })).toBe(1);
    expect(
      grew("video_generation_provider_calls_total", { operation: "status", outcome: "ok" }),
    ).toBeGreaterThan(0);
    expect(grew("video_generation_started_total")).toBe(1);
    expect(grew("video_generation_finished_total", { status: "succeeded" })).toBe(1);
  }, 120_000);

  it("exports only bounded labels after those runs (no id, prompt, seed or correlation)", async () => {
    const samples = await scrape(harness.runtime.metrics);
    expectBoundedLabels(samples);
    const text = await harness.runtime.metrics.registry.metrics();
    for (const secretish of ["metrics-replayed", "counted once", harness.sandbox.apiKey]) {
      expect(text).not.toContain(secretish);
    }
  });
});
