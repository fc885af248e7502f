import type http from "node:http";
import type { AddressInfo } from "node:net";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVideoGenerateFunctions } from "../../src/functions/video-generate.ts";
import { createStageServer } from "../../src/server/create-stage-server.ts";
import { executeOverHttp, signRequest, startFakeInngestApi } from "../helpers/fake-inngest-executor.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";

const SIGNING_KEY = "signkey-test-8f1c2a9e4b7d6c5a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a";

let harness: StageHarness;
let server: http.Server;
let endpoint: string;
let inngestApi: Awaited<ReturnType<typeof startFakeInngestApi>>;

beforeAll(async () => {
  harness = await startStageHarness({ sandbox: { timings: { pendingMs: 100, renderMs: 200 } } });
  inngestApi = await startFakeInngestApi();
  // Cloud mode (no isDev): every request must carry a valid signature.
  const client = new Inngest({
    id: "video-agent",
    signingKey: SIGNING_KEY,
    eventKey: "test-event-key",
    baseUrl: inngestApi.url,
    isDev: false,
  });
  server = createStageServer({
    client,
    functions: createVideoGenerateFunctions(client, harness.dependencies),
    describe: () => ({ budget: harness.dependencies.settings.budget }),
    checkDatabase: () => harness.dependencies.metadataStore.countSlots(),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/inngest`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await inngestApi.close();
  await harness.close();
});

/**
 * The serve handler in cloud mode driven by the fake executor, for what a real Inngest server does not do on demand:
 * unsigned and forged calls, a failing checkpoint API, a response lost after a step ran. Generations, failures,
 * cancels and restarts on the real server: test/engine.
 */
describe("the serve handler over real HTTP in cloud mode", () => {
  it("rejects unsigned and wrongly signed calls with 401", async () => {
    const body = {
      event: { name: "video/generation.requested", data: sampleRequest() },
      steps: {},
      ctx: {},
      version: 2,
    };
    const unsigned = await fetch(`${endpoint}?fnId=video-agent-video-generate&stepId=step`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(unsigned.status).toBe(401);
    const wrong = await fetch(`${endpoint}?fnId=video-agent-video-generate&stepId=step`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-inngest-signature": signRequest(body, "signkey-test-00112233"),
      },
      body: JSON.stringify(body),
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(endpoint)).status).toBe(401);
  });

  it("answers a signed introspection and /healthz without secrets", async () => {
    const signed = await fetch(endpoint, {
      headers: { "x-inngest-signature": signRequest(undefined, SIGNING_KEY) },
    });
    expect(signed.status).toBe(200);
    expect(await signed.json()).toMatchObject({ authentication_succeeded: true, function_count: 5 });

    const health = await fetch(endpoint.replace("/api/inngest", "/healthz"));
    expect(health.status).toBe(200);
    const text = await health.text();
    expect(JSON.parse(text)).toMatchObject({
      status: "ok",
      database: "reachable",
      inngest: { mode: "cloud" },
    });
    expect(text).not.toContain(SIGNING_KEY.slice(-20));
    expect(text).not.toContain(harness.sandbox.apiKey);
  });

  it("completes when the checkpoint API fails: the SDK falls back to returning the steps, one provider task", async () => {
    // A real server's checkpoint API does not fail on demand; here every checkpoint holding `submit` is refused.
    inngestApi.refuseCheckpoints("submit");
    try {
      const run = await executeOverHttp({
        url: endpoint,
        functionId: "video-agent-video-generate",
        event: {
          name: "video/generation.requested",
          data: sampleRequest({ generation_id: "http-1", correlation: { scene: "a" } }),
        },
        api: inngestApi,
        signingKey: SIGNING_KEY,
      });
      expect(run.status).toBe("completed");
      expect(run.output).toMatchObject({ generation_id: "http-1", cache_hit: false, fps: 30 });
      expect(run.ranSteps.slice(0, 4)).toEqual(["validate", "resolve-image", "cache-check", "claim"]);
      expect(run.ranSteps).toContain("submit");
    } finally {
      inngestApi.refuseCheckpoints(undefined);
    }
    const posts = inngestApi.checkpointPosts();
    expect(posts.refused).toBeGreaterThan(0);
    expect(posts.accepted).toBeGreaterThan(0);
    expect(inngestApi.unknownCalls).toEqual([]);
    expect(harness.sandbox.tasks().filter((task) => task.prompt === sampleRequest().prompt)).toHaveLength(1);
    expect(
      inngestApi.events.find((event) => event.name === "video/generation.completed")?.data,
    ).toMatchObject({
      generation_id: "http-1",
      correlation: { scene: "a" },
    });
  });

  it("a response lost after submit ran: the retried step finds the task it created, never a second one", async () => {
    inngestApi.refuseCheckpoints("submit");
    const prompt = "a response lost after the submit";
    try {
      const run = await executeOverHttp({
        url: endpoint,
        functionId: "video-agent-video-generate",
        event: {
          name: "video/generation.requested",
          data: sampleRequest({ generation_id: "http-lost", prompt }),
        },
        api: inngestApi,
        signingKey: SIGNING_KEY,
        loseResponseAfterStep: "submit",
      });
      expect(run.lostResponses).toBe(1);
      expect(run.status).toBe("completed");
      expect(run.output).toMatchObject({ generation_id: "http-lost", cache_hit: false });
    } finally {
      inngestApi.refuseCheckpoints(undefined);
    }
    expect(harness.sandbox.tasks().filter((task) => task.prompt === prompt)).toHaveLength(1);
    expect(await harness.dependencies.metadataStore.get("http-lost")).toMatchObject({ status: "succeeded" });
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
  });
});
