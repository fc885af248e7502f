import type http from "node:http";
import type { AddressInfo } from "node:net";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVideoGenerateFunctions } from "../../src/functions/video-generate.ts";
import { createStageServer } from "../../src/server/create-stage-server.ts";
import { executeOverHttp, signRequest, startFakeEventApi } from "../helpers/fake-inngest-executor.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";

const SIGNING_KEY = "signkey-test-8f1c2a9e4b7d6c5a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a";

let harness: StageHarness;
let server: http.Server;
let endpoint: string;
let eventApi: Awaited<ReturnType<typeof startFakeEventApi>>;

beforeAll(async () => {
  harness = await startStageHarness({ sandbox: { timings: { pendingMs: 100, renderMs: 200 } } });
  eventApi = await startFakeEventApi();
  // Cloud mode (no isDev): every request must carry a valid signature.
  const client = new Inngest({
    id: "video-agent",
    signingKey: SIGNING_KEY,
    eventKey: "test-event-key",
    baseUrl: eventApi.url,
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
  await eventApi.close();
  await harness.close();
});

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
    expect(await signed.json()).toMatchObject({ authentication_succeeded: true, function_count: 3 });

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

  it("runs a signed generation to the end, step by step, with a real JSON round trip", async () => {
    const run = await executeOverHttp({
      url: endpoint,
      functionId: "video-agent-video-generate",
      event: {
        name: "video/generation.requested",
        data: sampleRequest({ generation_id: "http-1", correlation: { scene: "a" } }),
      },
      signingKey: SIGNING_KEY,
    });
    expect(run.status).toBe("completed");
    expect(run.output).toMatchObject({ generation_id: "http-1", cache_hit: false, fps: 30 });
    expect(run.ranSteps.slice(0, 6)).toEqual([
      "validate",
      "resolve-image",
      "cache-check",
      "claim",
      "slot-0",
      "submit",
    ]);
    expect(eventApi.events.find((event) => event.name === "video/generation.completed")?.data).toMatchObject({
      generation_id: "http-1",
      correlation: { scene: "a" },
    });
  });

  it("retries a step that hit a 5xx and fails for good through onFailure with the provider's code", async () => {
    harness.sandbox.faults.inject({ route: "status", kind: "server-error", times: 1 });
    harness.sandbox.faults.failNextTasks({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
    });
    const event = {
      name: "video/generation.requested",
      data: sampleRequest({ generation_id: "http-failed", prompt: "fails" }),
    };
    const run = await executeOverHttp({
      url: endpoint,
      functionId: "video-agent-video-generate",
      event,
      signingKey: SIGNING_KEY,
    });
    expect(run.status).toBe("failed");
    expect(run.ranSteps.some((name) => name.endsWith("!"))).toBe(true);

    // What Inngest does next: the failure handler, as its own function, gets `inngest/function.failed`.
    const failure = await executeOverHttp({
      url: endpoint,
      functionId: "video-agent-video-generate-failure",
      event: {
        name: "inngest/function.failed",
        data: {
          function_id: "video-agent-video-generate",
          run_id: "run-of-http-failed",
          error: { name: "NonRetriableError", message: (run.output as { message: string }).message },
          event,
        },
      },
      signingKey: SIGNING_KEY,
    });
    expect(failure.status).toBe("completed");
    expect(await harness.dependencies.metadataStore.get("http-failed")).toMatchObject({
      status: "failed",
      errorCode: "DataInspectionFailed",
    });
    expect(eventApi.events.find((sent) => sent.name === "video/generation.failed")?.data).toMatchObject({
      generation_id: "http-failed",
      error: { code: "DataInspectionFailed" },
    });
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
  });
});
