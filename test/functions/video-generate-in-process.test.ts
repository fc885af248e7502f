import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type BusEvent, EventBus } from "../../src/runner/event-bus.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import {
  acceleratedClock,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";

let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const fast = acceleratedClock(20);

describe("video-generate in process, against the sandbox and real stores", () => {
  it("renders, stores and records a video whose measured facts are reported", async () => {
    harness = await startStageHarness();
    const bus = new EventBus();
    const events: BusEvent[] = [];
    bus.subscribe((event) => events.push(event));

    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "happy-1", correlation: { shot: "s1" }, fps: 24 }),
      harness.dependencies,
      { clock: fast, bus },
    );

    expect(outcome).toMatchObject({ status: "succeeded" });
    if (outcome.status !== "succeeded") return;
    const response = outcome.response;
    expect(response).toMatchObject({
      generation_id: "happy-1",
      model: "wan2.6-i2v-flash",
      cache_hit: false,
      width: 1280,
      height: 720,
      content_type: "video/mp4",
      has_audio: false,
    });
    expect(response.fps).toBeCloseTo(30, 1);
    expect(response.duration).toBeCloseTo(2, 1);
    expect(response.warnings).toEqual([
      expect.objectContaining({ field: "fps", requested: 24, applied: 30 }),
    ]);
    expect(response.cost_estimate).toEqual({ currency: "CNY", amount: 0.3 });
    expect(response.video_url.startsWith("file://")).toBe(true);

    const filePath = fileURLToPath(response.video_url);
    const bytes = await readFile(filePath);
    expect(bytes.length).toBe(response.bytes);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(response.sha256);
    expect((await stat(filePath)).isFile()).toBe(true);

    const record = await harness.dependencies.metadataStore.get("happy-1");
    expect(record).toMatchObject({ status: "succeeded", taskId: response.task_id, stage: "done" });
    expect(await harness.dependencies.metadataStore.countSlots()).toBe(0);
    expect(harness.sandbox.stats().tasksCreated).toBe(1);

    const completed = events.find((event) => event.name === "video/generation.completed");
    expect(completed?.data).toMatchObject({
      generation_id: "happy-1",
      correlation: { shot: "s1" },
      sha256: response.sha256,
    });
  });

  it("answers an identical request from the cache without calling the provider", async () => {
    harness = await startStageHarness();
    const first = await generateInProcess(sampleRequest(), harness.dependencies, { clock: fast });
    expect(first.status).toBe("succeeded");
    const before = harness.sandbox.stats();

    const second = await generateInProcess(sampleRequest(), harness.dependencies, { clock: fast });

    expect(second.status).toBe("succeeded");
    if (second.status !== "succeeded" || first.status !== "succeeded") return;
    expect(second.response.cache_hit).toBe(true);
    expect(second.response.sha256).toBe(first.response.sha256);
    expect(second.response.cost_estimate.amount).toBe(0);
    expect(harness.sandbox.stats().statusQueries).toBe(before.statusQueries);
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });

  it("rejects bad input before any provider call, naming the field", async () => {
    harness = await startStageHarness();
    const outcome = await generateInProcess(sampleRequest({ duration: 20 }), harness.dependencies, {
      clock: fast,
    });
    expect(outcome).toMatchObject({
      status: "failed",
      error: {
        code: "invalid_input",
        category: "input",
        message: "duration must be a whole number of seconds from 2 to 15 for wan2.6-i2v-flash; got 20",
      },
    });
    expect(harness.sandbox.stats().tasksCreated).toBe(0);
  });
});
