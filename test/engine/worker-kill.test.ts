import { access } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

const engine = useDevEngine({ sandbox: { timings: { pendingMs: 300, renderMs: 8_000 } } });

/** Sends a request and waits until its record reaches `status`; the run's id and the generation id. */
async function startUntil(status: string) {
  const request = engineRequest();
  const generationId = String(request.generation_id);
  const [eventId] = await engine.api.sendEvents([requested(request)]);
  const [run] = await engine.api.waitForEventRuns(eventId!);
  await waitUntil(`${generationId} to be ${status}`, async () =>
    (await engine.stage.metadataStore.get(generationId))?.status === status ? true : undefined,
  );
  return { request, generationId, runId: run!.id };
}

/** The run finished on the new worker, with exactly one provider task and a stored file. */
async function expectFinishedOnce(generation: Awaited<ReturnType<typeof startUntil>>) {
  await engine.api.waitForRunStatus(generation.runId, ["COMPLETED"], 180_000);
  const record = await engine.stage.metadataStore.get(generation.generationId);
  expect(record).toMatchObject({ status: "succeeded" });
  expect(
    engine.stage.sandbox.tasks().filter((task) => task.prompt === generation.request.prompt),
  ).toHaveLength(1);
  await access(fileURLToPath(String(record?.result?.video_url)));
  expect(await engine.stage.metadataStore.countSlots()).toBe(0);
}

describe("the worker killed with SIGKILL, a new worker on the same URL", () => {
  it("while the render sleeps: the new worker finishes the run with the one task", async () => {
    const generation = await startUntil("submitted");
    const [worker] = engine.workers;
    await worker!.kill();
    const task = engine.stage.sandbox
      .tasks()
      .find((candidate) => candidate.prompt === generation.request.prompt);
    expect(["PENDING", "RUNNING"]).toContain(task?.status);
    await worker!.restart();
    await expectFinishedOnce(generation);
  }, 240_000);

  it("during the copy (a slow result download): the new worker copies again, no second task", async () => {
    engine.stage.sandbox.faults.inject({ route: "download", kind: "slow", delayMs: 20_000 });
    const generation = await startUntil("copying");
    const [worker] = engine.workers;
    await worker!.kill();
    await worker!.restart();
    await expectFinishedOnce(generation);
  }, 240_000);
});
