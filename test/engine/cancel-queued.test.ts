import { describe, expect, it } from "vitest";
import { runCli } from "../cli/cli-process.ts";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

/** Prompts carrying this marker render for long: their task holds the only budget slot. */
const HOLD = "[hold the slot]";

const engine = useDevEngine({
  sandbox: {
    timings: { pendingMs: 300, renderMs: (task) => (task.prompt?.includes(HOLD) ? 12_000 : 500) },
  },
  workerEnvironment: { VIDEO_GEN_BUDGET: "1" },
});

/** Starts a generation that takes the only slot and waits until its task is submitted. */
async function holdTheSlot() {
  const holder = engineRequest({ prompt: `the holder ${HOLD} ${Date.now()}` });
  const [eventId] = await engine.api.sendEvents([requested(holder)]);
  const [run] = await engine.api.waitForEventRuns(eventId!);
  await waitUntil("the holder's provider task", async () => {
    const record = await engine.stage.metadataStore.get(String(holder.generation_id));
    return record?.taskId ? true : undefined;
  });
  return { generationId: String(holder.generation_id), runId: run!.id };
}

/** Waits until the generation's record says it is queued for a budget slot. */
function waitForQueued(generationId: string) {
  return waitUntil(`${generationId} to wait for a budget slot`, async () => {
    const record = await engine.stage.metadataStore.get(generationId);
    return record?.stage === "waiting-for-slot" ? record : undefined;
  });
}

function tasksWithPrompt(prompt: unknown) {
  return engine.stage.sandbox.tasks().filter((task) => task.prompt === prompt);
}

async function canceledEventsOf(generationId: string) {
  return (await engine.api.eventsByName("video/generation.canceled")).filter(
    (event) => event.data.generation_id === generationId,
  );
}

describe("cancel while queued for a budget slot (VIDEO_GEN_BUDGET=1, a long render holding it)", () => {
  it("a run canceled by the REST API while it waits never submits and leaves a canceled record", async () => {
    const since = new Date(Date.now() - 1_000);
    const holder = await holdTheSlot();
    const queued = engineRequest({ correlation: { case: "queued" } });
    const queuedId = String(queued.generation_id);
    const [eventId] = await engine.api.sendEvents([requested(queued)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await waitForQueued(queuedId);

    await engine.api.cancelRunRest(run!.id);
    await engine.api.waitForRunStatus(run!.id, ["CANCELLED"]);
    await engine.api.waitForRunStatus(holder.runId, ["COMPLETED"]);
    await engine.api.waitForAllRunsEnded(since);

    expect(await engine.stage.metadataStore.get(queuedId)).toMatchObject({
      status: "canceled",
      taskId: null,
    });
    const canceled = await canceledEventsOf(queuedId);
    expect(canceled).toHaveLength(1);
    expect(canceled[0]!.data).toMatchObject({
      task_id: null,
      provider_task_canceled: false,
      correlation: { case: "queued" },
    });
    expect(tasksWithPrompt(queued.prompt)).toHaveLength(0);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 180_000);

  it("a run without generation_id canceled by `video-gen cancel run-<runId>` before its submit never creates a task", async () => {
    const since = new Date(Date.now() - 1_000);
    const holder = await holdTheSlot();
    const { generation_id: _none, ...anonymous } = engineRequest();
    const [eventId] = await engine.api.sendEvents([requested(anonymous)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    const generationId = `run-${run!.id}`;
    await waitForQueued(generationId);

    const canceled = await runCli(
      ["cancel", generationId, "--reason", "not needed"],
      engine.stage.workerEnvironment({ INNGEST_DEV: engine.server.url }),
    );
    expect(canceled.code, canceled.stderr).toBe(0);
    expect(await engine.stage.metadataStore.get(generationId)).toMatchObject({ status: "canceled" });

    // The slot is handed on when the holder finishes: the canceled run must not take it to submit.
    await engine.api.waitForRunStatus(holder.runId, ["COMPLETED"]);
    await engine.api.waitForAllRunsEnded(since);
    expect(tasksWithPrompt(anonymous.prompt)).toHaveLength(0);
    expect(await engine.stage.metadataStore.get(generationId)).toMatchObject({
      status: "canceled",
      taskId: null,
    });
    expect(await canceledEventsOf(generationId)).toHaveLength(1);
    expect(
      (await engine.api.eventsByName("video/generation.completed")).some(
        (event) => event.data.generation_id === generationId,
      ),
    ).toBe(false);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 180_000);
});
