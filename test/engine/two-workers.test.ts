import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineRequest, requested } from "./requests.ts";
import { type RoundRobinProxy, startRoundRobinProxy } from "./round-robin-proxy.ts";
import { syncApp } from "./sync-app.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const BUDGET = 2;

const engine = useDevEngine({
  workers: 2,
  sandbox: { timings: { pendingMs: 300, renderMs: 2_000 } },
  workerEnvironment: { VIDEO_GEN_BUDGET: String(BUDGET) },
});
let proxy: RoundRobinProxy;
beforeAll(async () => {
  // One app, one URL: the two workers behind a load balancer, synced through it.
  proxy = await startRoundRobinProxy(engine.workers.map((worker) => new URL(worker.endpoint).origin));
  await syncApp(`${proxy.url}/api/inngest`);
}, 180_000);
afterAll(async () => {
  await proxy?.close();
});

describe("two workers behind one server", () => {
  it("share the provider budget: never more than VIDEO_GEN_BUDGET tasks in flight", async () => {
    const requests = Array.from({ length: 6 }, () => engineRequest());
    const eventIds = await engine.api.sendEvents(requests.map(requested));
    const runs = await Promise.all(eventIds.map((eventId) => engine.api.waitForEventRuns(eventId)));
    await Promise.all(runs.map(([run]) => engine.api.waitForRunStatus(run!.id, ["COMPLETED"], 180_000)));

    expect(engine.stage.sandbox.tasks()).toHaveLength(6);
    expect(engine.stage.sandbox.stats().peakInFlight).toBe(BUDGET);
    for (const request of requests) {
      expect((await engine.stage.metadataStore.get(String(request.generation_id)))?.status).toBe("succeeded");
    }
    // Both workers ran steps.
    expect(proxy.forwarded().every((count) => count > 0)).toBe(true);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 240_000);
});
