import { afterEach, describe, expect, it } from "vitest";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
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

const fast = acceleratedClock(50);

describe("video-generate: duplicates, budget, provider faults, deadline and cancel", () => {
  it("N identical requests in flight share one provider task and all get the result", async () => {
    harness = await startStageHarness();
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        generateInProcess(sampleRequest({ generation_id: `dup-${n}` }), harness!.dependencies, {
          clock: fast,
        }),
      ),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      "succeeded",
      "succeeded",
      "succeeded",
      "succeeded",
    ]);
    const responses = outcomes.flatMap((outcome) =>
      outcome.status === "succeeded" ? [outcome.response] : [],
    );
    expect(new Set(responses.map((response) => response.sha256)).size).toBe(1);
    expect(responses.filter((response) => !response.cache_hit)).toHaveLength(1);
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });

  it("never holds more provider tasks in flight than the budget", async () => {
    // The sandbox would accept 10 at once: only the stage's budget keeps it at 3.
    harness = await startStageHarness({
      sandbox: { concurrencyLimit: 10, submitsPerSecond: 50, timings: { pendingMs: 200, renderMs: 600 } },
      settings: { budget: 3 },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        generateInProcess(sampleRequest({ prompt: `distinct prompt ${n}` }), harness!.dependencies, {
          clock: fast,
        }),
      ),
    );
    expect(outcomes.every((outcome) => outcome.status === "succeeded")).toBe(true);
    expect(harness.sandbox.stats().tasksCreated).toBe(8);
    expect(harness.sandbox.stats().peakInFlight).toBeLessThanOrEqual(3);
    expect(harness.sandbox.stats().peakInFlight).toBeGreaterThanOrEqual(2);
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
  });

  it("absorbs 429s on submit and 5xx/resets on status without a second task", async () => {
    harness = await startStageHarness();
    harness.sandbox.faults.inject({ route: "submit", kind: "throttle", times: 2 });
    harness.sandbox.faults.inject({ route: "status", kind: "server-error", times: 2 });
    harness.sandbox.faults.inject({ route: "status", kind: "reset", times: 1 });
    const outcome = await generateInProcess(sampleRequest(), harness.dependencies, { clock: fast });
    expect(outcome.status).toBe("succeeded");
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });

  it("adopts the task of a submit whose response was lost instead of creating a second", async () => {
    harness = await startStageHarness();
    harness.sandbox.faults.inject({ route: "submit", kind: "reset-after-create", times: 1 });
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "lost-response" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(outcome.status).toBe("succeeded");
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
    const record = await harness.dependencies.metadataStore.get("lost-response");
    expect(record?.taskId).toBe(harness.sandbox.tasks()[0]?.taskId);
  });

  it("ends with the provider's code when the task FAILED, and frees the slot", async () => {
    harness = await startStageHarness();
    harness.sandbox.faults.failNextTasks({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
    });
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "rejected" }),
      harness.dependencies,
      { clock: fast },
    );
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "DataInspectionFailed", category: "provider" },
    });
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
    expect(await harness.dependencies.metadataStore.get("rejected")).toMatchObject({
      status: "failed",
      errorCode: "DataInspectionFailed",
    });
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
  });

  it("treats UNKNOWN (expired task) as terminal", async () => {
    harness = await startStageHarness({ sandbox: { taskTtlMs: 150 } });
    const outcome = await generateInProcess(sampleRequest(), harness.dependencies, { clock: fast });
    expect(outcome).toMatchObject({ status: "failed", error: { code: "task_expired" } });
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });

  it("cancels a task still PENDING at the deadline and fails with a timeout", async () => {
    harness = await startStageHarness({
      sandbox: { timings: { pendingMs: 60_000, renderMs: 300 } },
      settings: { deadlineMs: 20_000 },
    });
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "too-slow" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "deadline_exceeded", category: "timeout" },
    });
    expect(harness.sandbox.tasks()[0]?.status).toBe("CANCELED");
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
  });

  it("cancels on signal: the PENDING provider task is canceled and the record says so", async () => {
    harness = await startStageHarness({ sandbox: { timings: { pendingMs: 60_000, renderMs: 300 } } });
    const controller = new AbortController();
    const running = generateInProcess(sampleRequest({ generation_id: "user-cancel" }), harness.dependencies, {
      clock: fast,
      signal: controller.signal,
      onStep: (event) => {
        if (event.kind === "step-completed" && event.id === "poll-0")
          controller.abort(new Error("interrupted"));
      },
    });
    const outcome = await running;
    expect(outcome).toMatchObject({ status: "canceled", providerTaskCanceled: true });
    expect(harness.sandbox.tasks()[0]?.status).toBe("CANCELED");
    expect(await harness.dependencies.metadataStore.get("user-cancel")).toMatchObject({ status: "canceled" });
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
  });
});

describe("video-generate: a rerun after a failure", () => {
  it("copies the video of a task that succeeded when storage failed the first run, without a second task", async () => {
    harness = await startStageHarness();
    // Every download attempt of the first run breaks midway: the copy fails for good after its retries.
    harness.sandbox.faults.inject({ route: "download", kind: "reset-midway", times: 2 });
    const request = sampleRequest({ generation_id: "copy-failed-once" });
    const first = await generateInProcess(request, harness.dependencies, { clock: fast, retries: 1 });
    expect(first).toMatchObject({ status: "failed", error: { category: "storage" } });

    const rerun = await generateInProcess(request, harness.dependencies, { clock: fast });
    expect(rerun).toMatchObject({ status: "succeeded", response: { cache_hit: false } });
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });

  it("starts a failed generation afresh when the provider task itself failed", async () => {
    harness = await startStageHarness();
    harness.sandbox.faults.failNextTasks({ code: "InternalError.Algo", message: "render failed" });
    const request = sampleRequest({ generation_id: "task-failed-once" });
    expect(await generateInProcess(request, harness.dependencies, { clock: fast })).toMatchObject({
      status: "failed",
    });

    const rerun = await generateInProcess(request, harness.dependencies, { clock: fast });
    expect(rerun.status).toBe("succeeded");
    expect(harness.sandbox.stats().tasksCreated).toBe(2);
  });
});

describe("video-generate: the budget queue", () => {
  it("fails with budget_exhausted once a run has waited the queue timeout for a slot, and frees nothing it did not hold", async () => {
    harness = await startStageHarness({
      sandbox: { timings: { pendingMs: 60_000, renderMs: 300 } },
      // Many status checks allowed, so the holder keeps its slot (PENDING for a minute) until the test ends it.
      settings: { budget: 1, queueTimeoutMs: 20_000, maxStatusChecks: 10_000 },
    });
    const controller = new AbortController();
    const holder = generateInProcess(sampleRequest({ prompt: "holds the only slot" }), harness.dependencies, {
      clock: fast,
      signal: controller.signal,
    });
    // Wait until the holder really holds the only slot.
    for (let waited = 0; (await harness.dependencies.metadataStore.countSlots()) < 1; waited += 50) {
      if (waited > 30_000) throw new Error("the holder never acquired the slot");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const waiter = await generateInProcess(
      sampleRequest({ prompt: "waits for it", generation_id: "queued" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(waiter).toMatchObject({
      status: "failed",
      error: { code: "budget_exhausted", category: "timeout" },
    });
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(1);
    controller.abort(new Error("done"));
    expect(await holder).toMatchObject({ status: "canceled" });
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });
});
