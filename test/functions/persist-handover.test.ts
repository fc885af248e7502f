import { afterEach, describe, expect, it } from "vitest";
import { persistedResult } from "../../src/functions/steps/persist-step.ts";
import { EVENT_NAMES } from "../../src/functions/video-generation-events.ts";
import { type BusEvent, EventBus } from "../../src/runner/event-bus.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import type { RunnerStepEvent } from "../../src/runner/in-process-runner.ts";
import {
  acceleratedClock,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";

let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const until = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** When each step of one run started and completed, by step id (ms since the epoch). */
function stepTimes() {
  const started = new Map<string, number>();
  const completed = new Map<string, number>();
  return {
    started,
    completed,
    onStep: (event: RunnerStepEvent) => {
      if (event.kind === "step-started" && !started.has(event.id)) started.set(event.id, Date.now());
      if (event.kind === "waiting" || event.kind === "sleeping") started.set(event.id, Date.now());
      if (event.kind === "step-completed" || event.kind === "event-sent") completed.set(event.id, Date.now());
    },
  };
}

/**
 * A slot that `persist` frees is handed to the oldest waiter like any other, and that waiter is told at once
 * (`persist-handover`): it does not sleep until its fallback check. Real time: the waiter's first fallback is 5 s.
 */
describe("the slot hand-over after persist", () => {
  it("wakes a waiter granted the slot at once, not at its fallback check", async () => {
    harness = await startStageHarness({ settings: { budget: 1 } });
    const { dependencies } = harness;
    const store = dependencies.metadataStore;
    const bus = new EventBus();
    const events: BusEvent[] = [];
    bus.subscribe((event) => events.push(event));

    // A stored video for the repeat below to be answered from.
    const original = await generateInProcess(sampleRequest({ generation_id: "original" }), dependencies, {
      clock: acceleratedClock(20),
      bus,
    });
    expect(original.status).toBe("succeeded");

    // The only slot is held by a run elsewhere, so the next generation queues for it.
    expect(
      await store.acquireSlot("run-elsewhere", { limit: 1, leaseMs: 600_000, staleWaiterMs: 600_000 }),
    ).toEqual({ acquired: true });
    const waiterSteps = stepTimes();
    const waiter = generateInProcess(
      sampleRequest({ generation_id: "waiter", prompt: "a lighthouse at dawn, gulls circling" }),
      dependencies,
      { bus, onStep: waiterSteps.onStep },
    );
    await until(() => waiterSteps.started.has("slot-wait-0"), 20_000);

    // That slot comes free without anyone being told (as when the run holding it died and its lease ran out):
    // the next release anywhere, here the `persist` of a cache hit, hands it to the waiter.
    await store.releaseSlot("run-elsewhere");
    const repeatSteps = stepTimes();
    const repeat = await generateInProcess(sampleRequest({ generation_id: "repeat" }), dependencies, {
      bus,
      onStep: repeatSteps.onStep,
    });
    expect(repeat).toMatchObject({ status: "succeeded", response: { cache_hit: true } });
    expect(repeatSteps.completed.has("persist-handover")).toBe(true);
    expect(events).toContainEqual(
      expect.objectContaining({ name: EVENT_NAMES.slotGranted, data: { generation_id: "waiter" } }),
    );

    const outcome = await waiter;
    expect(outcome).toMatchObject({ status: "succeeded", response: { cache_hit: false } });
    const persistedAt = repeatSteps.completed.get("persist") ?? Number.NaN;
    const wokenAt = waiterSteps.started.get("slot-1") ?? Number.NaN;
    const waitedAt = waiterSteps.started.get("slot-wait-0") ?? Number.NaN;
    // Woken by the announcement: right after the persist, well before its 5 s fallback would have ended the wait.
    expect(wokenAt - persistedAt).toBeLessThan(1_000);
    expect(wokenAt - waitedAt).toBeLessThan(4_500);
    // It took the slot it was granted at that check: no third one, and nothing is left held.
    expect(waiterSteps.started.has("slot-wait-1")).toBe(false);
    expect(await store.countSlots()).toBe(0);
    expect(harness.sandbox.stats().tasksCreated).toBe(2);

    // A run whose `persist` was memoized before the step returned its grants replays with none to announce.
    if (outcome.status !== "succeeded") return;
    expect(persistedResult(outcome.response)).toEqual({ response: outcome.response, grantedTo: [] });
    expect(persistedResult({ response: outcome.response, grantedTo: ["waiter"] }).grantedTo).toEqual([
      "waiter",
    ]);
  });
});
