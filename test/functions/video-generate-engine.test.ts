import type { InngestTestEngine } from "@inngest/test";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVideoGenerateFunctions } from "../../src/functions/video-generate.ts";
import { engineFor as engineOf, mockedSteps, sha1 } from "../helpers/inngest-test-engine.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";

/**
 * The durable function under Inngest's own execution engine (@inngest/test), with the real DashScope client against
 * the sandbox and the real stores. The engine re-runs the handler from the top for every step, as Inngest does, so
 * these tests show that memoization, replays and step ids behave. Its known gaps (reference/inngest.md §5.2) are
 * handled here: every sleep is mocked (an unmocked one never settles), mocks are built fresh for every execution (the
 * engine mutates them), retries are simulated by executing again, and JSON round trips are asserted explicitly.
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
afterAll(() => harness.close());

const engineFor = (data: Record<string, unknown>) => engineOf(videoGenerate, data);

type Execution = Awaited<ReturnType<InngestTestEngine["execute"]>>;

/** Every memoized step output, awaited. */
async function stepOutputs(state: Execution["state"]): Promise<Array<[string, unknown]>> {
  return Promise.all(
    Object.entries(state).map(
      async ([hash, value]) =>
        [hash, await Promise.resolve(value).catch((error) => ({ error }))] as [string, unknown],
    ),
  );
}

describe("video-generate under the Inngest test engine", () => {
  it("runs the pipeline and keeps every step output small, JSON-safe and free of secrets", async () => {
    const tasksBefore = harness.sandbox.stats().tasksCreated;
    const { result, error, state, ctx } = await engineFor(
      sampleRequest({ generation_id: "engine-happy", correlation: { shot: 7 } }),
    ).execute({
      steps: mockedSteps(),
    });

    expect(error).toBeUndefined();
    expect(result).toMatchObject({
      generation_id: "engine-happy",
      cache_hit: false,
      width: 1280,
      height: 720,
    });
    expect(harness.sandbox.stats().tasksCreated).toBe(tasksBefore + 1);

    for (const [, output] of await stepOutputs(state)) {
      const json = JSON.stringify(output ?? null);
      expect(JSON.parse(json)).toEqual(output ?? null);
      expect(json.length).toBeLessThan(4 * 1024 * 1024);
      expect(json).not.toContain("Signature=");
      expect(json).not.toContain(harness.sandbox.apiKey);
    }
    const ranSteps = (ctx.step.run as unknown as { mock: { calls: unknown[][] } }).mock.calls.map(
      (call) => call[0],
    );
    expect(ranSteps.slice(0, 6)).toEqual([
      "validate",
      "resolve-image",
      "cache-check",
      "claim",
      "slot-0",
      "submit",
    ]);
    expect(ranSteps.slice(-4)).toEqual([
      `poll-${ranSteps.filter((id) => String(id).startsWith("poll-")).length - 1}`,
      "copy",
      "poster",
      "persist",
    ]);
    const sent = (ctx.step.sendEvent as unknown as { mock: { calls: unknown[][] } }).mock.calls.at(-1);
    expect(sent?.[0]).toBe("notify");
    expect(sent?.[1]).toMatchObject([
      {
        name: "video/generation.completed",
        data: { generation_id: "engine-happy", correlation: { shot: 7 } },
      },
      { name: "video/generation.settled", data: { generation_id: "engine-happy", status: "succeeded" } },
    ]);
  });

  it("answers a replayed event from the cache: no provider call at all", async () => {
    const before = harness.sandbox.stats();
    const { result, error } = await engineFor(sampleRequest({ generation_id: "engine-replay" })).execute({
      steps: mockedSteps(),
    });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ cache_hit: true, generation_id: "engine-replay" });
    expect(harness.sandbox.stats().statusQueries).toBe(before.statusQueries);
    expect(harness.sandbox.stats().tasksCreated).toBe(before.tasksCreated);
  });

  it("never submits twice when the run restarts after a crash at any step boundary", async () => {
    const boundaries = [
      "validate",
      "resolve-image",
      "cache-check",
      "claim",
      "slot-0",
      "submit",
      "poll-0",
      "copy",
      "poster",
      "persist",
    ];
    for (const [index, boundary] of boundaries.entries()) {
      const data = sampleRequest({
        generation_id: `crash-after-${boundary}`,
        prompt: `crash after ${boundary}`,
      });
      const tasksBefore = harness.sandbox.stats().tasksCreated;

      // The first execution stops right after `boundary` ran: what a crash (or a deploy) leaves behind.
      const interrupted = await engineFor(data).executeStep(boundary, { steps: mockedSteps() });
      expect(interrupted.error, `first execution up to ${boundary}`).toBeUndefined();
      // `state` holds the steps before the target; the target's own output is `step.data`.
      const memoized = [
        ...boundaries.slice(0, index).map((id) => ({ id, output: interrupted.state[sha1(id)] })),
        { id: boundary, output: (interrupted.step as { data?: unknown }).data },
      ];

      // The restart replays with those steps memoized, exactly as Inngest would.
      const resumed = await engineFor(data).execute({
        steps: mockedSteps(memoized.map(({ id, output }) => ({ id, handler: () => output }))),
      });
      expect(resumed.error, `resume after ${boundary}`).toBeUndefined();
      expect(resumed.result, `resume after ${boundary}`).toMatchObject({
        generation_id: `crash-after-${boundary}`,
      });
      expect(harness.sandbox.stats().tasksCreated - tasksBefore, `tasks created around ${boundary}`).toBe(1);
    }
  }, 240_000);

  it("does not submit again when the crash came after the POST but before the step's result was saved", async () => {
    const data = sampleRequest({ generation_id: "crash-inside-submit", prompt: "crash inside submit" });
    const tasksBefore = harness.sandbox.stats().tasksCreated;
    const interrupted = await engineFor(data).executeStep("submit", { steps: mockedSteps() });
    const taskId = (interrupted.step as { data?: { taskId?: string } }).data?.taskId;
    expect(taskId).toBeTruthy();

    // The submit step's output never reached Inngest: it runs again on the restart.
    const memoized = ["validate", "resolve-image", "cache-check", "claim", "slot-0"].map((id) => ({
      id,
      handler: () => interrupted.state[sha1(id)],
    }));
    const resumed = await engineFor(data).execute({ steps: mockedSteps(memoized) });
    expect(resumed.error).toBeUndefined();
    expect(resumed.result).toMatchObject({ task_id: taskId });
    expect(harness.sandbox.stats().tasksCreated - tasksBefore).toBe(1);
  });

  it("rejects an invalid event in `validate` with invalid_input, naming the field, and records it", async () => {
    const before = harness.sandbox.stats().tasksCreated;
    const { error } = await engineFor(
      sampleRequest({ duration: 1, generation_id: "engine-invalid" }),
    ).execute({
      steps: mockedSteps(),
    });
    expect(error).toMatchObject({ name: "NonRetriableError" });
    expect((error as Error).message).toMatch(
      /^invalid_input: duration must be a whole number of seconds from 2 to 15/,
    );
    expect(harness.sandbox.stats().tasksCreated).toBe(before);
    expect(await harness.dependencies.metadataStore.get("engine-invalid")).toMatchObject({
      status: "failed",
      errorCode: "invalid_input",
    });
  });

  it("accepts the `_inngest` key Inngest adds to an invoked run's event, and only that key", async () => {
    const invoked = await engineFor({
      ...sampleRequest({ generation_id: "engine-invoked" }),
      _inngest: { fn_id: "film-pipeline-render-shot", correlation_id: "abc" },
    }).execute({ steps: mockedSteps() });
    expect(invoked.error).toBeUndefined();
    expect(invoked.result).toMatchObject({ generation_id: "engine-invoked" });

    const { error } = await engineFor({
      ...sampleRequest({ generation_id: "engine-extra-key" }),
      _extra: true,
    }).execute({ steps: mockedSteps() });
    expect((error as Error).message).toMatch(/^invalid_input: unknown field _extra/);
  });

  it("ends a FAILED task with a NonRetriableError carrying the provider's code", async () => {
    harness.sandbox.faults.failNextTasks({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
    });
    const { error } = await engineFor(
      sampleRequest({ generation_id: "engine-failed", prompt: "moderated" }),
    ).execute({
      steps: mockedSteps(),
    });
    expect(error).toMatchObject({ name: "NonRetriableError" });
    expect((error as Error).message).toMatch(/^DataInspectionFailed: /);
  });

  it("turns a 429 into RetryAfterError, and the retried step creates exactly one task", async () => {
    const before = harness.sandbox.stats().tasksCreated;
    harness.sandbox.faults.inject({ route: "submit", kind: "throttle", times: 1 });
    const data = sampleRequest({ generation_id: "engine-throttled", prompt: "throttled once" });
    const first = await engineFor(data).execute({ steps: mockedSteps() });
    expect(first.error).toMatchObject({ name: "RetryAfterError" });
    expect((first.error as Error).message).toMatch(/^Throttling\.RateQuota: /);

    // The engine models no retries: executing again is the retry.
    const retried = await engineFor(data).execute({ steps: mockedSteps() });
    expect(retried.error).toBeUndefined();
    expect(harness.sandbox.stats().tasksCreated - before).toBe(1);
  });
});
