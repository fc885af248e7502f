import { describe, expect, it } from "vitest";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const engine = useDevEngine();

describe("a provider task that fails", () => {
  it("ends the run FAILED and emits failed with the provider's code (after a retried 5xx)", async () => {
    const since = new Date(Date.now() - 1_000);
    // A status check answered 500 first: the server retries that step, then the task's own failure ends the run.
    engine.stage.sandbox.faults.inject({ route: "status", kind: "server-error", times: 1 });
    engine.stage.sandbox.faults.failNextTasks({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
    });
    const request = engineRequest({ correlation: { shot: "fails" } });
    const [eventId] = await engine.api.sendEvents([requested(request)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(run!.id, ["FAILED"]);
    await engine.api.waitForAllRunsEnded(since);

    const [task] = engine.stage.sandbox.tasks();
    expect(task?.status).toBe("FAILED");
    const failed = (await engine.api.eventsByName("video/generation.failed")).filter(
      (event) => event.data.generation_id === request.generation_id,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({
      error: { code: "DataInspectionFailed" },
      task_id: task?.taskId,
      correlation: { shot: "fails" },
    });
    expect(await engine.stage.metadataStore.get(String(request.generation_id))).toMatchObject({
      status: "failed",
      errorCode: "DataInspectionFailed",
      taskId: task?.taskId,
    });
    expect(engine.stage.sandbox.tasks()).toHaveLength(1);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 120_000);
});
