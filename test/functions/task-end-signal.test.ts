import { afterEach, describe, expect, it } from "vitest";
import { EVENT_NAMES } from "../../src/functions/video-generation-events.ts";
import { EventBus } from "../../src/runner/event-bus.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";

/**
 * Where task endings are signalled (the completion push), `wait-N` ends at the signal for its own generation, so a
 * run whose schedule would first check after most of a minute finishes seconds after its task does. Real time, no
 * accelerated clock: the point is that the schedule's delay is not waited out.
 */
let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const until = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe("a task's ending, signalled", () => {
  it("ends the run's wait at once; a signal for another generation does not", async () => {
    harness = await startStageHarness({
      sandbox: { timings: { pendingMs: 100, renderMs: 300 } },
      // The schedule's first check comes near 90 % of a 60 s expected render.
      environment: { VIDEO_GEN_RENDER_ESTIMATE_S: "60" },
      settings: { taskEndSignals: true },
    });
    const sandbox = harness.sandbox;
    const bus = new EventBus();
    const started = Date.now();
    let settled = false;
    const run = generateInProcess(sampleRequest({ generation_id: "signalled" }), harness.dependencies, {
      bus,
    }).finally(() => {
      settled = true;
    });

    await until(() => sandbox.tasks()[0]?.status === "SUCCEEDED", 20_000);
    const task = sandbox.tasks()[0];
    bus.publish({
      name: EVENT_NAMES.taskEnded,
      data: { generation_id: "another", task_id: "t-other", task_status: "SUCCEEDED", source: "push" },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(settled).toBe(false);

    bus.publish({
      name: EVENT_NAMES.taskEnded,
      data: {
        generation_id: "signalled",
        task_id: task?.taskId ?? "",
        task_status: "SUCCEEDED",
        source: "push",
      },
    });
    const outcome = await run;
    expect(outcome).toMatchObject({ status: "succeeded" });
    // Far inside the 54 s the schedule would have slept before its first check.
    expect(Date.now() - started).toBeLessThan(25_000);
    // One check answered it: the signal is a hint, the status query the fact.
    expect(sandbox.tasks()).toHaveLength(1);
  });
});
