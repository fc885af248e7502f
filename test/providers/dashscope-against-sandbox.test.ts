import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors/provider-error.ts";
import { createDashscopeVideoProvider } from "../../src/providers/dashscope/index.ts";
import type { ProviderStartInput, ProviderTaskStatus, VideoProvider } from "../../src/providers/provider.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { makeImage, probe } from "../sandbox/sandbox-test-helpers.ts";

describe("the DashScope client against the sandbox, over real HTTP", () => {
  let sandbox: SandboxHandle;
  let dispatcher: Agent;
  let provider: VideoProvider;
  let image: Buffer;
  let directory: string;

  beforeAll(async () => {
    // PENDING long enough to cancel reliably on a busy machine; RUNNING short.
    sandbox = await startSandbox({ timings: { pendingMs: 800, renderMs: 100 }, submitsPerSecond: 100 });
    dispatcher = new Agent();
    provider = createDashscopeVideoProvider({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl, dispatcher });
    image = await makeImage(640, 480);
    directory = await mkdtemp(path.join(tmpdir(), "dashscope-sandbox-client-"));
  });
  afterAll(async () => {
    await sandbox?.close();
    await dispatcher?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  const startInput = (overrides: Partial<ProviderStartInput> = {}): ProviderStartInput => ({
    prompt: "a lighthouse at dusk, slow push-in",
    resolution: "720P",
    duration: 2,
    seed: 42,
    audio: true,
    image: { kind: "bytes", bytes: image, contentType: "image/png", filename: "lighthouse.png" },
    ...overrides,
  });

  /** Polls with short sleeps until a terminal status, bounded. */
  async function waitForTerminal(client: VideoProvider, taskId: string): Promise<ProviderTaskStatus> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await client.status(taskId);
      if ((status.status !== "pending" && status.status !== "running") || Date.now() > deadline)
        return status;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  it("uploads bytes, submits with oss://, polls to SUCCEEDED and downloads a playable MP4", async () => {
    const started = await provider.start(startInput());
    expect(started.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sandbox.stats().uploads).toBe(1);
    const task = sandbox.tasks().find((candidate) => candidate.taskId === started.taskId);
    expect(task).toMatchObject({
      image: { source: "oss" },
      sentHeaders: { "x-dashscope-ossresourceresolve": "enable" },
      sentParameters: { resolution: "720P", duration: 2, seed: 42, audio: true },
    });

    const status = await waitForTerminal(provider, started.taskId);
    expect(status.status).toBe("succeeded");
    if (status.status !== "succeeded") return;
    expect(status.usage).toMatchObject({ duration: 2, resolutionTier: 720, audio: true });
    expect(Date.parse(status.endedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(status.submittedAt ?? ""));

    const download = await request(status.videoUrl, { dispatcher, signal: AbortSignal.timeout(15_000) });
    expect(download.statusCode).toBe(200);
    expect(download.headers["content-type"]).toBe("video/mp4");
    const filePath = path.join(directory, "upload-flow.mp4");
    await writeFile(filePath, Buffer.from(await download.body.arrayBuffer()));
    const video = await probe(filePath);
    // 640x480 at 720P by the documented rule (each side floored to a multiple of 16), the sandbox's default.
    expect(video).toMatchObject({ width: 1104, height: 816, fps: 30, audio: { codec: "aac" } });
    expect(Math.abs(video.durationSeconds - 2)).toBeLessThanOrEqual(0.1);
  });

  it("submits an image given as a data URI inline", async () => {
    const dataUri = `data:image/png;base64,${image.toString("base64")}`;
    const started = await provider.start(
      startInput({ audio: false, seed: 7, image: { kind: "url", url: dataUri } }),
    );
    expect(sandbox.tasks().find((task) => task.taskId === started.taskId)?.image.source).toBe("data");
    const status = await waitForTerminal(provider, started.taskId);
    expect(status.status).toBe("succeeded");
  });

  it("cancels a PENDING task, and reports CANCELED", async () => {
    const started = await provider.start(
      startInput({ image: { kind: "url", url: `data:image/png;base64,${image.toString("base64")}` } }),
    );
    await provider.cancel(started.taskId);
    expect(await provider.status(started.taskId)).toMatchObject({
      status: "canceled",
      taskId: started.taskId,
    });
    const again = await provider.cancel(started.taskId).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(ProviderError);
    expect((again as ProviderError).kind).toBe("rejected");
  });

  it("surfaces 429 Throttling.RateQuota as kind throttled", async () => {
    sandbox.faults.inject({ route: "submit", kind: "throttle" });
    const error = await provider.start(startInput()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      kind: "throttled",
      code: "Throttling.RateQuota",
      httpStatus: 429,
      retryable: true,
    });
    expect(String((error as Error).message)).not.toContain(sandbox.apiKey);
  });

  it("surfaces a reset after the task was created as ambiguous_submit, and the task shows up in listTasks", async () => {
    sandbox.faults.inject({ route: "submit", kind: "reset-after-create" });
    const error = await provider
      .start(startInput({ image: { kind: "url", url: `data:image/png;base64,${image.toString("base64")}` } }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("ambiguous_submit");
    const created = sandbox.tasks().at(-1);
    const page = await provider.listTasks({ pageNo: 1, pageSize: 100 });
    expect(page.pageNo).toBe(1);
    expect(page.totalPages).toBe(1);
    expect(page.total).toBe(sandbox.tasks().length);
    expect(page.tasks.find((task) => task.taskId === created?.taskId)).toEqual({
      taskId: created?.taskId,
      status: expect.any(String),
      createdAt: new Date(created?.submitTime ?? 0).toISOString(),
      model: "wan2.6-i2v-flash",
    });
    const one = await provider.listTasks({ pageNo: 1, taskId: created?.taskId ?? "" });
    expect(one.tasks.map((task) => task.taskId)).toEqual([created?.taskId]);
  });

  it("reports an unknown task as unknown", async () => {
    expect(await provider.status("00000000-0000-4000-8000-000000000000")).toEqual({
      status: "unknown",
      taskId: "00000000-0000-4000-8000-000000000000",
    });
  });
});
