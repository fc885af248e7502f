import { describe, expect, it } from "vitest";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const engine = useDevEngine();

describe("the dashboard's rerun (GraphQL rerun) of a succeeded run", () => {
  it("is answered from the cache: no new provider task, cache_hit true, same video", async () => {
    const request = engineRequest();
    const [eventId] = await engine.api.sendEvents([requested(request)]);
    const [first] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(first!.id, ["COMPLETED"]);
    const original = (await engine.api.run(first!.id)).output as { sha256: string; video_url: string };
    expect(engine.stage.sandbox.tasks()).toHaveLength(1);

    const rerunId = await engine.api.rerun(first!.id);
    expect(rerunId).not.toBe(first!.id);
    await engine.api.waitForRunStatus(rerunId, ["COMPLETED"]);

    const { output } = await engine.api.run(rerunId);
    expect(output).toMatchObject({
      generation_id: request.generation_id,
      cache_hit: true,
      sha256: original.sha256,
      video_url: original.video_url,
      cost_estimate: { amount: 0 },
    });
    expect(engine.stage.sandbox.tasks()).toHaveLength(1);
    expect(await engine.stage.metadataStore.get(String(request.generation_id))).toMatchObject({
      status: "succeeded",
    });
  }, 120_000);
});
