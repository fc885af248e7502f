import { describe, expect, it } from "vitest";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

/** Long enough that every cancel below reaches the provider task while it is still PENDING (cancelable). */
const PENDING_MS = 30_000;

const engine = useDevEngine({ sandbox: { timings: { pendingMs: PENDING_MS, renderMs: 1_000 } } });

/** Sends a request and waits until its provider task is recorded and PENDING at the sandbox. */
async function startPendingGeneration(label: string) {
  const since = new Date(Date.now() - 1_000);
  const request = engineRequest({ correlation: { route: label } });
  const generationId = String(request.generation_id);
  const [eventId] = await engine.api.sendEvents([requested(request)]);
  const [run] = await engine.api.waitForEventRuns(eventId!);
  const taskId = await waitUntil(`the provider task of ${generationId}`, async () => {
    const record = await engine.stage.metadataStore.get(generationId);
    return record?.status === "submitted" && record.taskId ? record.taskId : undefined;
  });
  expect(engine.stage.sandbox.tasks().find((task) => task.taskId === taskId)?.status).toBe("PENDING");
  return { since, generationId, runId: run!.id, taskId, correlation: { route: label } };
}

/** What every cancel route must leave behind. */
async function expectCanceled(generation: Awaited<ReturnType<typeof startPendingGeneration>>) {
  await engine.api.waitForRunStatus(generation.runId, ["CANCELLED"]);
  await engine.api.waitForAllRunsEnded(generation.since);
  expect(await engine.stage.metadataStore.get(generation.generationId)).toMatchObject({ status: "canceled" });
  const canceled = (await engine.api.eventsByName("video/generation.canceled")).filter(
    (event) => event.data.generation_id === generation.generationId,
  );
  expect(canceled).toHaveLength(1);
  expect(canceled[0]!.data).toMatchObject({
    task_id: generation.taskId,
    provider_task_canceled: true,
    correlation: generation.correlation,
  });
  expect(engine.stage.sandbox.tasks().find((task) => task.taskId === generation.taskId)?.status).toBe(
    "CANCELED",
  );
  expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  expect(
    (await engine.api.eventsByName("video/generation.completed")).some(
      (event) => event.data.generation_id === generation.generationId,
    ),
  ).toBe(false);
}

describe("cancel on the real server, every route", () => {
  it("by the cancel event (cancelOn on generation_id)", async () => {
    const generation = await startPendingGeneration("event");
    await engine.api.sendEvents([
      {
        name: "video/generation.cancel-requested",
        data: { generation_id: generation.generationId, reason: "shot cut" },
      },
    ]);
    await expectCanceled(generation);
  }, 180_000);

  it("by the REST API (DELETE /v1/runs/:id)", async () => {
    const generation = await startPendingGeneration("rest");
    await engine.api.cancelRunRest(generation.runId);
    await expectCanceled(generation);
  }, 180_000);

  it("by the dashboard (GraphQL cancelRun)", async () => {
    const generation = await startPendingGeneration("dashboard");
    await engine.api.cancelRunDashboard(generation.runId);
    await expectCanceled(generation);
  }, 180_000);
});
