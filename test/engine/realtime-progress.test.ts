import { Inngest } from "inngest";
import { getSubscriptionToken, subscribe } from "inngest/realtime";
import { WebSocket as UndiciWebSocket } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { videoGenerationChannel } from "../../src/functions/video-generation-realtime.ts";
import { listRunsSince } from "./inngest-run-trace.ts";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

/** The stages a fresh generation (no cache hit, a free budget slot) passes, in the handler's order. */
const PIPELINE = ["validate", "resolve-image", "cache-check", "claim", "submit", "rendering", "copy", "done"];

interface ProgressMessage {
  topic: string;
  runId: string | undefined;
  data: { generation_id: string; stage: string; provider_status: string | null; progress: number | null };
}

const engine = useDevEngine({
  // A 10 s render expected to take 10 s: the first check lands at 9 s (estimate 0.9), the next at 11 s (0.95, the
  // cap until done), so "rendering" is published twice with a growing estimate.
  workerEnvironment: { VIDEO_GEN_REALTIME: "1", VIDEO_GEN_RENDER_ESTIMATE_S: "10" },
  sandbox: { timings: { pendingMs: 300, renderMs: 10_000 } },
});

// Node 20 has no global WebSocket (Node 22 has); the SDK's subscription needs one. undici is a dependency already.
const hadWebSocket = "WebSocket" in globalThis;
beforeAll(() => {
  if (!hadWebSocket) Object.assign(globalThis, { WebSocket: UndiciWebSocket });
});
afterAll(() => {
  if (!hadWebSocket) Reflect.deleteProperty(globalThis, "WebSocket");
});

describe("the realtime channel video-generation:<id> on the real Inngest dev server", () => {
  it("delivers the progress of a generation in order, from validate to done at 1", async () => {
    const request = engineRequest();
    const generationId = String(request.generation_id);
    // A client of a UI: dev mode, pointed at the dev server (its API serves the token and the WebSocket).
    const client = new Inngest({ id: "realtime-subscriber", isDev: true, baseUrl: engine.server.url });
    const channel = videoGenerationChannel({ generationId });

    const token = await getSubscriptionToken(client, { channel, topics: ["progress"] });
    // A JWT signed by the server for this channel and topic: what a server hands a browser.
    expect(token.key).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const messages: ProgressMessage[] = [];
    const subscription = await subscribe(token);
    // Read in the background for the whole run; ends when the subscription is closed.
    const reading = (async () => {
      const reader = subscription.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (value.kind === "data") messages.push(value as unknown as ProgressMessage);
      }
    })();
    try {
      const since = new Date(Date.now() - 1_000);
      const [eventId] = await engine.api.sendEvents([requested(request)]);
      const [run] = await engine.api.waitForEventRuns(eventId!);
      await engine.api.waitForRunStatus(run!.id, ["COMPLETED"]);
      // Published inside the persist step, so it may arrive just after the run reports COMPLETED.
      await waitUntil(
        'the "done" message',
        () => (messages.some((message) => message.data.stage === "done") ? true : undefined),
        { timeoutMs: 10_000 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; received: ${JSON.stringify(messages.map((m) => m.data.stage))}`);
      });

      // The generation's own run publishes each stage; while its task renders, the account's task watcher publishes
      // the estimate (the run waits for the watcher's signal and does not check meanwhile).
      const watcherRuns = (await listRunsSince(engine.server.url, since))
        .filter((listed) => listed.functionSlug === "video-agent-video-generate-watcher")
        .map((listed) => listed.id);
      for (const message of messages) {
        expect(message.topic).toBe("progress");
        expect([run!.id, ...watcherRuns]).toContain(message.runId);
        expect(message.data.generation_id).toBe(generationId);
      }
      expect(
        messages.some(
          (message) => message.data.stage === "rendering" && watcherRuns.includes(String(message.runId)),
        ),
      ).toBe(true);
      const stages = messages.map((message) => message.data.stage);
      // Every stage of the pipeline, each first seen in the handler's order, and nothing after done.
      const firstSeen = PIPELINE.map((stage) => stages.indexOf(stage));
      expect(
        firstSeen.every((index) => index >= 0),
        JSON.stringify(stages),
      ).toBe(true);
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
      expect(stages.at(-1)).toBe("done");
      expect(stages.filter((stage) => stage === "done")).toHaveLength(1);

      // The estimate grows while rendering, stays below 1 until the end, and reaches 1 with done.
      const rendering = messages.filter((message) => message.data.stage === "rendering");
      expect(rendering.length).toBeGreaterThanOrEqual(2);
      const estimates = rendering.map((message) => message.data.progress);
      for (const estimate of estimates) {
        expect(estimate).toBeGreaterThan(0);
        expect(estimate).toBeLessThan(1);
      }
      expect(estimates).toEqual([...estimates].sort((a, b) => Number(a) - Number(b)));
      expect(Number(estimates[0])).toBeLessThan(Number(estimates.at(-1)));
      expect(rendering.map((message) => message.data.provider_status)).toContain("RUNNING");
      expect(messages.at(-1)?.data.progress).toBe(1);
    } finally {
      subscription.close();
      await reading.catch(() => {});
    }
  }, 120_000);
});
