import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HoldingProxy, startHoldingProxy } from "./holding-proxy.ts";
import { engineRequest, requested } from "./requests.ts";
import { syncApp } from "./sync-app.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const engine = useDevEngine();
let proxy: HoldingProxy;
beforeAll(async () => {
  proxy = await startHoldingProxy(new URL(engine.workers[0]!.endpoint).origin);
  await syncApp(`${proxy.url}/api/inngest`);
}, 180_000);
afterAll(async () => {
  await proxy?.close();
});

describe("a run canceled before it started (still queued at the server)", () => {
  it("gets a terminal canceled record, one canceled event, and no provider task", async () => {
    const since = new Date(Date.now() - 1_000);
    // The server's first call of the run never reaches the worker: nothing of the stage runs before the cancel.
    proxy.hold("video-agent-video-generate");
    const request = engineRequest({ correlation: { case: "never started" } });
    const generationId = String(request.generation_id);
    const [eventId] = await engine.api.sendEvents([requested(request)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await proxy.waitForHeld(1, 60_000);
    expect(await engine.stage.metadataStore.get(generationId)).toBeNull();

    await engine.api.cancelRunRest(run!.id);
    await engine.api.waitForRunStatus(run!.id, ["CANCELLED"]);
    proxy.dropHeld();
    await engine.api.waitForAllRunsEnded(since);

    expect(await engine.stage.metadataStore.get(generationId)).toMatchObject({
      status: "canceled",
      taskId: null,
      correlation: { case: "never started" },
    });
    const canceled = (await engine.api.eventsByName("video/generation.canceled")).filter(
      (event) => event.data.generation_id === generationId,
    );
    expect(canceled).toHaveLength(1);
    expect(canceled[0]!.data).toMatchObject({ task_id: null, provider_task_canceled: false });
    expect(engine.stage.sandbox.tasks()).toHaveLength(0);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 180_000);
});
