import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "../cli/cli-process.ts";
import { createInngestApi, type InngestApi } from "./inngest-api.ts";
import { type SelfHostedInngest, startSelfHostedInngest } from "./inngest-self-hosted.ts";
import { engineRequest, requested } from "./requests.ts";
import { type StageEnvironment, startStageEnvironment } from "./stage-environment.ts";
import { type StageWorker, startStageWorker } from "./stage-worker.ts";
import { waitUntil } from "./wait-until.ts";

let server: SelfHostedInngest;
let stage: StageEnvironment;
let worker: StageWorker;
let api: InngestApi;
/** The stage in cloud mode against the self-hosted server, as in production. */
let cloudEnvironment: Record<string, string>;

beforeAll(async () => {
  server = await startSelfHostedInngest();
  stage = await startStageEnvironment({ sandbox: { timings: { pendingMs: 300, renderMs: 12_000 } } });
  cloudEnvironment = stage.workerEnvironment({
    INNGEST_BASE_URL: server.url,
    INNGEST_SIGNING_KEY: server.signingKey,
    INNGEST_EVENT_KEY: server.eventKey,
  });
  worker = await startStageWorker(cloudEnvironment);
  api = createInngestApi({ url: server.url, eventKey: server.eventKey, signingKey: server.signingKey });
}, 240_000);
afterAll(async () => {
  await worker?.stop();
  await server?.stop();
  await stage?.close();
});

describe("inngest start on Redis + PostgreSQL, the stage in cloud mode", () => {
  it("killed with SIGKILL mid-render and restarted: the run resumes and finishes with one provider task", async () => {
    const request = engineRequest({ correlation: { durability: "restart" } });
    const generationId = String(request.generation_id);
    const [eventId] = await api.sendEvents([requested(request)]);
    const [run] = await api.waitForEventRuns(eventId!);
    await waitUntil(`${generationId} to be submitted`, async () =>
      (await stage.metadataStore.get(generationId))?.status === "submitted" ? true : undefined,
    );

    await server.kill();
    // Killed mid-render: the task was still in flight at the provider.
    expect(["PENDING", "RUNNING"]).toContain(stage.sandbox.tasks()[0]?.status);
    await server.restart();

    await api.waitForRunStatus(run!.id, ["COMPLETED"], 180_000);
    expect((await api.run(run!.id)).output).toMatchObject({ generation_id: generationId, cache_hit: false });
    expect(await stage.metadataStore.get(generationId)).toMatchObject({ status: "succeeded" });
    expect(stage.sandbox.tasks()).toHaveLength(1);
    const [completed] = await api.waitForEvents(
      "video/generation.completed",
      (event) => event.data.generation_id === generationId,
    );
    expect(completed!.data).toMatchObject({ correlation: { durability: "restart" } });
    expect(await stage.metadataStore.countSlots()).toBe(0);
  }, 240_000);

  it("REST v1/v2 need the signing key as a Bearer token", async () => {
    const anonymous = createInngestApi({ url: server.url, eventKey: server.eventKey });
    await expect(anonymous.eventsByName("video/generation.completed")).rejects.toThrow(/401/);
  });

  it("serve refuses to start in cloud mode without INNGEST_EVENT_KEY (exit 3, names the variable)", async () => {
    const { INNGEST_EVENT_KEY: _key, ...withoutEventKey } = cloudEnvironment;
    const serve = startCli(["serve", "--port", "0"], withoutEventKey);
    // It must exit on its own; one that starts serving is stopped here rather than left to time out.
    const started = await serve.waitForOutput(/Serving app /, 60_000).then(
      () => true,
      () => false,
    );
    serve.child.kill("SIGKILL");
    const result = await serve.exited(10_000);
    expect(started, `serve started without INNGEST_EVENT_KEY:\n${result.stdout}`).toBe(false);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("INNGEST_EVENT_KEY");
  }, 90_000);
});
