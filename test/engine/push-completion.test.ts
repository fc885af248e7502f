import { beforeAll, describe, expect, it } from "vitest";
import {
  type EventBridgeEmulatorHandle,
  startEventBridgeEmulator,
} from "../../src/sandbox/eventbridge-emulator.ts";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const SECRET = "engine-push-secret-0123456789";
/** The schedule's first check comes near 90 % of this expected render, far after the sandbox's 2.3 s task. */
const RENDER_ESTIMATE_S = 60;

const engine = useDevEngine({ workers: 0 });
let emulator: EventBridgeEmulatorHandle;
let pushUrl = "";
/** While true, every push is lost (the emulator's loss draw always hits). */
let losing = false;

beforeAll(async () => {
  emulator = await startEventBridgeEmulator({
    tasks: () => engine.stage.sandbox.tasks(),
    targetUrl: () => pushUrl,
    delayMs: 500,
    // Every push comes twice: the second is a no-op (same event id, or the record has ended).
    duplicates: 1,
    duplicateGapMs: 300,
    lossRate: 0.5,
    random: () => (losing ? 0 : 1),
  });
  const worker = await engine.addWorker({
    DASHSCOPE_PUSH_SECRET: SECRET,
    DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN: emulator.certificateOrigin,
    VIDEO_GEN_RENDER_ESTIMATE_S: String(RENDER_ESTIMATE_S),
  });
  pushUrl = worker.endpoint.replace(/\/api\/inngest$/, `/hooks/dashscope/${SECRET}`);
  return () => emulator.close();
}, 180_000);

async function generate(generationId: string) {
  const tasksBefore = engine.stage.sandbox.tasks().length;
  const request = engineRequest({ generation_id: generationId });
  const started = Date.now();
  const [eventId] = await engine.api.sendEvents([requested(request)]);
  const [run] = await engine.api.waitForEventRuns(eventId!);
  await engine.api.waitForRunStatus(run!.id, ["COMPLETED"], 150_000);
  const elapsedMs = Date.now() - started;
  const record = await engine.stage.metadataStore.get(generationId);
  const task = engine.stage.sandbox.tasks().find((candidate) => candidate.taskId === record?.taskId);
  return { elapsedMs, record, task, newTasks: engine.stage.sandbox.tasks().length - tasksBefore };
}

describe("DashScope's completion push on the real Inngest dev server", () => {
  it("ends the run's wait when the push arrives, long before its schedule's first check", async () => {
    const { elapsedMs, record, task, newTasks } = await generate("push-delivered");
    expect(record).toMatchObject({ status: "succeeded" });
    expect(newTasks).toBe(1);
    // Task ≈ 2.3 s, push 0.5 s after; the schedule would first look near 54 s.
    expect(elapsedMs).toBeLessThan(20_000);
    expect(task?.endTime).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const answers = emulator.stats().answers;
    expect(answers["204"]).toBeGreaterThanOrEqual(1);
    expect((answers["204"] ?? 0) + (answers["200"] ?? 0)).toBe(2);
    expect(engine.stage.sandbox.tasks()).toHaveLength(1);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 180_000);

  it("still completes when the push is lost: the watcher's own check finds the ending", async () => {
    losing = true;
    const lostBefore = emulator.stats().lost;
    const { elapsedMs, record, newTasks } = await generate("push-lost");
    expect(record).toMatchObject({ status: "succeeded" });
    expect(newTasks).toBe(1);
    expect(emulator.stats().lost).toBe(lostBefore + 1);
    // Without the push the ending waits for the watcher's next check (every 30 s with the push on), long before the
    // run's own fallback (2.5 × the 60 s estimate); a delivered push took about 3 s.
    expect(elapsedMs).toBeGreaterThan(6_000);
    expect(elapsedMs).toBeLessThan(75_000);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 180_000);

  it("answers a push delayed past the watcher's check, and one for another client's task, and changes nothing", async () => {
    const found = await engine.stage.metadataStore.get("push-lost");
    expect(found).toMatchObject({ status: "succeeded" });
    const tasksBefore = engine.stage.sandbox.tasks().length;
    const post = async (taskId: string) => {
      const body = JSON.stringify({
        type: "dashscope:System:AsyncTaskFinish",
        data: { task_id: taskId, task_status: "SUCCEEDED" },
      });
      const response = await fetch(pushUrl, {
        method: "POST",
        headers: emulator.sign(body, Date.now()),
        body,
      });
      return { status: response.status, body: await response.json() };
    };
    // The lost push of "push-lost", delivered at last, after the watcher found the ending and the run finished.
    expect(await post(String(found?.taskId))).toEqual({ status: 200, body: { ignored: "already ended" } });
    // A task of the same account that another client submitted (the event covers the whole account).
    expect(await post("3f4b2c1d-0000-4000-8000-00000000f0e1")).toEqual({
      status: 200,
      body: { ignored: "unknown task" },
    });
    expect(await engine.stage.metadataStore.get("push-lost")).toEqual(found);
    expect(engine.stage.sandbox.tasks()).toHaveLength(tasksBefore);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 60_000);

  it("refuses forged pushes with 401 and changes nothing", async () => {
    const finished = await engine.stage.metadataStore.get("push-delivered");
    const body = JSON.stringify({
      type: "dashscope:System:AsyncTaskFinish",
      data: { task_id: finished?.taskId, task_status: "FAILED" },
    });
    const post = (url: string, headers: Headers, payload = body) =>
      fetch(url, { method: "POST", headers, body: payload }).then((response) => response.status);
    const fresh = () => emulator.sign(body, Date.now());
    const wrongSecret = pushUrl.replace(SECRET, "not-the-secret-0123456789");
    expect(await post(wrongSecret, fresh())).toBe(401);
    expect(await post(pushUrl, emulator.sign(body, Date.now() - 61_000))).toBe(401);
    expect(await post(pushUrl, fresh(), body.replace("FAILED", "SUCCEEDED"))).toBe(401);
    const foreign = fresh();
    foreign.set("x-eventbridge-signature-url", "https://evil.example/x509_public_certificate_1.pem");
    expect(await post(pushUrl, foreign)).toBe(401);
    expect(await engine.stage.metadataStore.get("push-delivered")).toEqual(finished);
  }, 60_000);
});
