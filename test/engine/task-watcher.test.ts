import { describe, expect, it } from "vitest";
import { fetchRunTrace, listEventsSince, listRunsSince } from "./inngest-run-trace.ts";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

/**
 * The account-wide task watcher on the real Inngest dev server, where no push is configured: it finds every ending
 * by its own checks, wakes the runs, hands slots over; killed mid-check it is retried and nothing is lost or done
 * twice. Renders take 6 s; the runs' own fallback would first check at 2.5 × the 20 s estimate (50 s), so a run that
 * finishes in seconds was woken by the watcher.
 */
const RENDER_MS = 6_000;
const engine = useDevEngine({
  sandbox: { timings: { pendingMs: 300, renderMs: RENDER_MS } },
  workerEnvironment: { VIDEO_GEN_BUDGET: "1", VIDEO_GEN_RENDER_ESTIMATE_S: "20" },
});

const WATCHER_SLUG = "video-agent-video-generate-watcher";

async function send(count: number) {
  const requests = Array.from({ length: count }, () => engineRequest());
  const eventIds = await engine.api.sendEvents(requests.map((request) => requested(request)));
  const runs = await Promise.all(
    eventIds.map(async (eventId) => (await engine.api.waitForEventRuns(eventId))[0]!),
  );
  return requests.map((request, index) => ({
    request,
    generationId: String(request.generation_id),
    runId: runs[index]!.id,
  }));
}

/** Every generation succeeded with exactly one provider task; no slot is held and the watcher let go of its lease. */
async function expectAllFinishedOnce(generations: Awaited<ReturnType<typeof send>>) {
  for (const generation of generations) {
    await engine.api.waitForRunStatus(generation.runId, ["COMPLETED"], 180_000);
    expect(await engine.stage.metadataStore.get(generation.generationId)).toMatchObject({
      status: "succeeded",
    });
    expect(
      engine.stage.sandbox.tasks().filter((task) => task.prompt === generation.request.prompt),
    ).toHaveLength(1);
  }
  expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  await waitUntil("the watcher to let go of its lease", async () =>
    (await engine.stage.metadataStore.watcherActive()) ? undefined : true,
  );
}

/** The run's own waiting: its `wait-N` and `poll-N` steps, by name. */
async function waitSteps(runId: string): Promise<string[]> {
  const trace = await fetchRunTrace(engine.server.url, runId);
  return trace.steps.map((step) => step.name).filter((name) => /^(wait|poll)-\d+$/.test(name));
}

describe("the task watcher on the real Inngest dev server (no push)", () => {
  it("signals each ending: a run takes one wait and one check, and a freed slot goes to the next at once", async () => {
    const from = new Date(Date.now() - 1_000);
    const started = Date.now();
    const generations = await send(3);
    await expectAllFinishedOnce(generations);
    // Three 6.3 s tasks one after the other (budget 1), far inside one run's 50 s fallback.
    expect(Date.now() - started).toBeLessThan(40_000);
    for (const generation of generations) {
      expect(await waitSteps(generation.runId)).toEqual(["wait-0", "poll-0"]);
    }
    const ended = await listEventsSince(engine.server.url, ["video/generation.task-ended"], from);
    expect(ended.filter((event) => event.data.source === "watcher")).toHaveLength(3);
    // One watcher did it all (later wake-ups, if any, found the lease held and ended at once).
    const watchers = (await listRunsSince(engine.server.url, from)).filter(
      (run) => run.functionSlug === WATCHER_SLUG,
    );
    expect(watchers.length).toBeGreaterThanOrEqual(1);
    expect(watchers.every((run) => run.status === "COMPLETED")).toBe(true);
  }, 240_000);

  it("killed mid-check (the worker SIGKILLed while renders run and runs wait): retried, nothing lost or doubled", async () => {
    const generations = await send(3);
    await waitUntil("a task rendering and the watcher checking", async () =>
      (await engine.stage.metadataStore.get(generations[0]!.generationId))?.status === "submitted" &&
      (await engine.stage.metadataStore.watcherActive())
        ? true
        : undefined,
    );
    const [worker] = engine.workers;
    await worker!.kill();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await worker!.restart();
    await expectAllFinishedOnce(generations);
    expect(engine.stage.sandbox.stats().peakInFlight).toBe(1);
  }, 300_000);
});
