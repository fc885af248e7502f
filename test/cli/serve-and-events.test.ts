import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { runCli, startCli } from "./cli-process.ts";
import { type EventApiRecorder, startEventApiRecorder } from "./event-api-recorder.ts";

const SIGNING_KEY = "signkey-test-0123456789abcdef0123456789abcdef";
const EVENT_KEY = "test-event-key-for-serve";
/** The functions `serve` may register (the pipeline, the cancel command, the run-cancelled cleanup, the task watcher). */
const STAGE_FUNCTIONS = [
  "video-generate",
  "video-generate-cancel",
  "video-generate-on-cancelled",
  "video-generate-watcher",
];

let eventApi: EventApiRecorder;
let eventApiUrl: string;
let received: EventApiRecorder["requests"];

let fixture: CliFixture;
beforeAll(async () => {
  fixture = await startCliFixture();
  eventApi = await startEventApiRecorder();
  eventApiUrl = eventApi.url;
  received = eventApi.requests;
});
afterAll(async () => {
  await eventApi?.close();
  await fixture?.close();
});

describe("video-gen serve", () => {
  it("in cloud mode answers /healthz without secrets and refuses unsigned calls to /api/inngest", async () => {
    const server = startCli(
      ["serve", "--port", "0"],
      fixture.environment({ INNGEST_SIGNING_KEY: SIGNING_KEY, INNGEST_EVENT_KEY: EVENT_KEY }),
    );
    try {
      await server.waitForOutput(/Serving app video-agent \(cloud mode\)/, 30_000);
      const origin = /(http:\/\/127\.0\.0\.1:\d+)\/api\/inngest/.exec(server.output().stdout)?.[1];
      expect(origin).toBeDefined();

      const health = await fetch(`${origin}/healthz`);
      const text = await health.text();
      expect(health.status).toBe(200);
      const report = JSON.parse(text) as { inngest: { functions: string[] } };
      expect(report).toMatchObject({
        status: "ok",
        database: "reachable",
        inngest: { app_id: "video-agent", mode: "cloud" },
      });
      expect(report.inngest.functions).toEqual(
        expect.arrayContaining(["video-generate", "video-generate-cancel"]),
      );
      for (const id of report.inngest.functions) expect(STAGE_FUNCTIONS).toContain(id);
      expect(text).not.toContain(SIGNING_KEY);
      expect(text).not.toContain(EVENT_KEY);
      expect(text).not.toContain(fixture.sandbox.apiKey);

      const unsigned = await fetch(`${origin}/api/inngest?fnId=video-agent-video-generate&stepId=step`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          event: { name: "video/generation.requested", data: {} },
          steps: {},
          ctx: {},
          version: 2,
        }),
      });
      expect(unsigned.status).toBe(401);
    } finally {
      server.child.kill("SIGTERM");
    }
    expect((await server.exited(15_000)).code).toBe(0);
  });

  it("refuses to start in cloud mode without INNGEST_SIGNING_KEY (exit 3)", async () => {
    const result = await runCli(
      ["serve", "--port", "0"],
      fixture.environment({ INNGEST_EVENT_KEY: EVENT_KEY }),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("INNGEST_SIGNING_KEY");
    expect(result.stderr).toContain("INNGEST_DEV");
    expect(result.stdout).not.toContain("Serving app");
  });

  it("refuses to start in cloud mode without INNGEST_EVENT_KEY, saying the functions send events (exit 3)", async () => {
    const result = await runCli(
      ["serve", "--port", "0"],
      fixture.environment({ INNGEST_SIGNING_KEY: SIGNING_KEY }),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("INNGEST_EVENT_KEY");
    expect(result.stderr).toContain("video/generation.completed");
    expect(result.stderr).toContain("[inngest_event_key_missing]");
    expect(result.stderr).not.toContain(SIGNING_KEY);
    expect(result.stdout).not.toContain("Serving app");
  });

  it("starts in dev mode (no signing or event key) with a warning that it accepts unsigned requests", async () => {
    const server = startCli(["serve", "--port", "0"], fixture.environment({ INNGEST_DEV: "1" }));
    try {
      await server.waitForOutput(/Serving app video-agent \(dev mode\)/, 30_000);
      expect(server.output().stderr).toMatch(/UNSIGNED requests.*never expose/s);
    } finally {
      server.child.kill("SIGINT");
    }
    expect((await server.exited(15_000)).code).toBe(0);
  });
});

describe("video-gen send and cancel", () => {
  it("send needs INNGEST_EVENT_KEY or INNGEST_DEV (exit 3)", async () => {
    const result = await runCli(
      ["send", "--image", SAMPLE_IMAGE_PATH, "--prompt", "x"],
      fixture.environment(),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("INNGEST_EVENT_KEY");
  });

  it("send validates the request client-side (exit 2, nothing sent)", async () => {
    const before = received.length;
    const result = await runCli(
      ["send", "--image", SAMPLE_IMAGE_PATH, "--prompt", "x", "--duration", "99"],
      fixture.environment({ INNGEST_DEV: "1", INNGEST_BASE_URL: eventApiUrl }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("duration");
    expect(received.length).toBe(before);
  });

  it("send refuses a request larger than one Inngest event and says how to pass the image (exit 2, nothing sent)", async () => {
    const before = received.length;
    const requestFile = path.join(fixture.outputDir, "too-large.json");
    // A 2.4 MiB image inline: 3.2 MB as base64, over the 3 MiB an event may carry.
    const dataUri = `data:image/jpeg;base64,${Buffer.alloc(2.4 * 1024 * 1024, 7).toString("base64")}`;
    await writeFile(requestFile, JSON.stringify({ prompt: "too large", reference_image: dataUri }));
    const result = await runCli(
      ["send", "--request", requestFile],
      fixture.environment({ INNGEST_DEV: "1", INNGEST_BASE_URL: eventApiUrl }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("reference_image");
    expect(result.stderr).toContain("https URL or an s3://bucket/key");
    expect(received.length).toBe(before);
  });

  it("send emits video/generation.requested with a generation id and prints both ids", async () => {
    const result = await runCli(
      ["send", "--image", SAMPLE_IMAGE_PATH, "--prompt", "sent", "--correlation", "shot=s1", "--json"],
      fixture.environment({ INNGEST_EVENT_KEY: "test-event-key", INNGEST_BASE_URL: eventApiUrl }),
    );
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { event_id: string; generation_id: string };
    expect(printed.generation_id).toMatch(/^cli-[0-9a-f-]{36}$/);
    const sent = received.at(-1);
    expect(sent?.path).toBe("/e/test-event-key");
    expect(sent?.body).toEqual([
      expect.objectContaining({
        name: "video/generation.requested",
        data: expect.objectContaining({
          generation_id: printed.generation_id,
          prompt: "sent",
          reference_image: SAMPLE_IMAGE_PATH,
          correlation: { shot: "s1" },
        }),
      }),
    ]);
    expect(printed.event_id).toBe(`event-${received.length}`);
  });

  it("cancel cleans up a recorded generation and sends video/generation.cancel-requested", async () => {
    const generated = await runCli(
      [
        "generate",
        "--image",
        SAMPLE_IMAGE_PATH,
        "--prompt",
        "to cancel",
        "--duration",
        "2",
        "--generation-id",
        "cancel-me",
        "--json",
      ],
      fixture.environment(),
    );
    expect(generated.code, generated.stderr).toBe(0);

    const result = await runCli(
      ["cancel", "cancel-me", "--reason", "test"],
      fixture.environment({ INNGEST_DEV: "1", INNGEST_BASE_URL: eventApiUrl }),
    );

    expect(result.code, result.stderr).toBe(0);
    // It had already succeeded: nothing to cancel locally, but the command still reaches a served run.
    expect(result.stdout).toContain("already ended (succeeded)");
    expect(received.at(-1)?.body).toEqual([
      expect.objectContaining({
        name: "video/generation.cancel-requested",
        data: { generation_id: "cancel-me", reason: "test" },
      }),
    ]);
  });
});
