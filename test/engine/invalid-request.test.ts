import { describe, expect, it } from "vitest";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const engine = useDevEngine();

/** A stack frame or a path of the worker's files: nothing a caller should see. */
const INTERNALS = /\n\s+at |node_modules|\.ts:\d+|\/src\/|file:\/\/\//;

describe("a request that fails validation, sent straight to the event API", () => {
  it("ends FAILED with invalid_input naming the fields, a failed record, and no internals", async () => {
    const since = new Date(Date.now() - 1_000);
    const request = engineRequest({ prompt: "", duration: 99, correlation: { shot: "bad" } });
    const generationId = String(request.generation_id);
    const [eventId] = await engine.api.sendEvents([requested(request)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(run!.id, ["FAILED"]);
    await engine.api.waitForAllRunsEnded(since);

    const failed = (await engine.api.eventsByName("video/generation.failed")).filter(
      (event) => event.data.generation_id === generationId,
    );
    expect(failed).toHaveLength(1);
    const error = failed[0]!.data.error as { code: string; message: string };
    expect(error.code).toBe("invalid_input");
    expect(error.message).toMatch(/prompt/);
    expect(error.message).toMatch(/duration/);
    expect(JSON.stringify(failed[0]!.data)).not.toMatch(INTERNALS);

    const { output } = await engine.api.run(run!.id);
    expect(JSON.stringify(output ?? null)).not.toMatch(INTERNALS);

    expect(await engine.stage.metadataStore.get(generationId)).toMatchObject({
      status: "failed",
      errorCode: "invalid_input",
    });
    expect(engine.stage.sandbox.tasks()).toHaveLength(0);
  }, 120_000);
});
