import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HostApp, startHostApp } from "./host-app.ts";
import { engineRequest, SAMPLE_IMAGE } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

const engine = useDevEngine();
let hostApp: HostApp;
beforeAll(async () => {
  hostApp = await startHostApp(engine.server.url);
}, 180_000);
afterAll(async () => {
  await hostApp?.close();
});

describe("invoking the stage (the server adds data._inngest to the invoked event)", () => {
  it("step.invoke from another app awaits the response", async () => {
    const generationId = `invoked-${Date.now()}`;
    const [eventId] = await engine.api.sendEvents([
      {
        name: "film/shot.requested",
        data: { generation_id: generationId, image: SAMPLE_IMAGE, prompt: "a lighthouse, invoked" },
      },
    ]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(run!.id, ["COMPLETED"]);

    const { output } = await engine.api.run(run!.id);
    expect(output).toMatchObject({ generation_id: generationId, cache_hit: false });
    const record = await engine.stage.metadataStore.get(generationId);
    expect(record).toMatchObject({ status: "succeeded" });
    expect((output as { url: string }).url).toBe(record?.result?.video_url);
    expect(engine.stage.sandbox.tasks().filter((task) => task.taskId === record?.taskId)).toHaveLength(1);
  }, 120_000);

  it("the dashboard's Invoke (GraphQL invokeFunction) runs a generation", async () => {
    const since = new Date(Date.now() - 60_000);
    const before = new Set((await engine.api.runsSince(since)).map((listed) => listed.id));
    const request = engineRequest({ prompt: "a lighthouse, invoked from the dashboard" });
    await engine.api.invokeFunction("video-agent-video-generate", request);

    // invokeFunction answers only `true`: the run is the stage's new one, triggered by inngest/function.invoked.
    const run = await waitUntil("the invoked run", async () =>
      (await engine.api.runsSince(since)).find(
        (listed) =>
          !before.has(listed.id) &&
          listed.functionSlug === "video-agent-video-generate" &&
          listed.eventName === "inngest/function.invoked",
      ),
    );
    await engine.api.waitForRunStatus(run.id, ["COMPLETED"]);
    const { output } = await engine.api.run(run.id);
    expect(output).toMatchObject({ generation_id: request.generation_id, cache_hit: false });
    expect(await engine.stage.metadataStore.get(String(request.generation_id))).toMatchObject({
      status: "succeeded",
    });
  }, 120_000);
});
