import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_APP_DIR, type ExampleApp, startExampleApp } from "./example-app-process.ts";
import { createInngestApi, type InngestApi, type StoredEvent } from "./inngest-api.ts";
import { type InngestDevServer, startInngestDevServer } from "./inngest-dev-server.ts";
import { SAMPLE_IMAGE } from "./requests.ts";
import { type StageEnvironment, startStageEnvironment } from "./stage-environment.ts";
import { waitUntil } from "./wait-until.ts";

/**
 * examples/film-pipeline as its users run it: its own process, the stage installed in its node_modules from the
 * packed tarball and served on the app's own client (`film-pipeline`, so the stage's function is
 * `film-pipeline-video-generate`), synced to `inngest dev`; driven only through events, REST and GraphQL.
 */

/** Long enough that the cut reaches the provider task while it is still PENDING (cancelable). */
const PENDING_MS = 12_000;
const COMPLETED = "video/generation.completed";
const CANCELED = "video/generation.canceled";

let server: InngestDevServer;
let stage: StageEnvironment;
let app: ExampleApp;
let api: InngestApi;
beforeAll(async () => {
  server = await startInngestDevServer();
  api = createInngestApi({ url: server.url });
  stage = await startStageEnvironment({ sandbox: { timings: { pendingMs: PENDING_MS, renderMs: 1_000 } } });
  app = await startExampleApp(stage.workerEnvironment({ INNGEST_DEV: server.url }));
}, 180_000);
afterAll(async () => {
  await app?.stop();
  await server?.stop();
  await stage?.close();
});

/** The app's `Shot`: every shot starts from the sample image (under the app's REFERENCE_IMAGE_ROOT). */
const shot = (id: string, prompt: string) => ({ id, image: SAMPLE_IMAGE, prompt, duration: 2 });
/** The app's `shotGenerationId`. */
const generationIdOf = (filmId: string, shotId: string) => `film-${filmId}-shot-${shotId}`;
const newFilmId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** Sends one of the app's events and returns the run of the app's function it started, once it has ended so. */
async function runToEnd(name: string, data: Record<string, unknown>, status: "COMPLETED" | "FAILED") {
  const [eventId] = await api.sendEvents([{ name, data }]);
  const [run] = await api.waitForEventRuns(eventId!);
  await api.waitForRunStatus(run!.id, [status], 150_000);
  return { runId: run!.id, output: (await api.run(run!.id)).output };
}

/** When each step of a run started (epoch ms), by step id: the run's trace as the dashboard reads it (`/v0/gql`). */
async function stepStarts(runId: string): Promise<Map<string, number>> {
  const response = await fetch(`${server.url}/v0/gql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: "query ($runID: String!) { run(runID: $runID) { trace { childrenSpans { name startedAt } } } }",
      variables: { runID: runId },
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json()) as {
    data?: { run: { trace: { childrenSpans: Array<{ name: string; startedAt: string | null }> } | null } };
  };
  const spans = body.data?.run.trace?.childrenSpans ?? [];
  return new Map(spans.map(({ name, startedAt }) => [name, Date.parse(String(startedAt))]));
}

const ofGeneration = (generationId: string) => (event: StoredEvent) =>
  event.data.generation_id === generationId;

/** A stored video: the file the response names, as long as it says. */
async function expectStoredVideo(videoUrl: unknown, bytes: unknown) {
  expect((await stat(fileURLToPath(String(videoUrl)))).size).toBe(bytes);
}

describe("the film-pipeline example app, installed from the packed package, on inngest dev", () => {
  it("request-shot: one request; the stage answers on completed with the shot's correlation", async () => {
    const filmId = newFilmId("one");
    const generationId = generationIdOf(filmId, "1");
    const since = new Date(Date.now() - 1_000);
    const { output } = await runToEnd(
      "film/shot.requested",
      { film_id: filmId, shot: shot("1", `${filmId}: waves roll onto the shore`) },
      "COMPLETED",
    );
    expect(output).toEqual({ generation_id: generationId });

    const [completed] = await api.waitForEvents(COMPLETED, ofGeneration(generationId));
    expect(completed!.data).toMatchObject({ correlation: { film: filmId, shot: "1" }, cache_hit: false });
    const record = await stage.metadataStore.get(generationId);
    expect(record).toMatchObject({ status: "succeeded", taskId: completed!.data.task_id });
    expect(record?.result?.video_url).toBe(completed!.data.video_url);
    await expectStoredVideo(completed!.data.video_url, record?.result?.bytes);
    // The stage's run is the app's: its function is film-pipeline-video-generate.
    await expect(api.waitForRunStatus(String(record?.runId), ["COMPLETED"])).resolves.toBe("COMPLETED");
    const run = (await api.runsSince(since)).find(({ id }) => id === record?.runId);
    expect(run?.functionSlug).toBe("film-pipeline-video-generate");
    expect(stage.sandbox.tasks().filter((task) => task.prompt?.startsWith(filmId))).toHaveLength(1);
  }, 180_000);

  it("render-film: fans out four shots and fans in on each completed; two identical shots share a task", async () => {
    const filmId = newFilmId("film");
    const shots = [
      shot("a", `${filmId}: a lighthouse at dusk`),
      shot("b", `${filmId}: a sailboat drifts`),
      shot("c", `${filmId}: gulls over the pier`),
      // Exactly what shot c asks for (image, prompt, parameters), under another generation id.
      shot("d", `${filmId}: gulls over the pier`),
    ];
    const since = new Date(Date.now() - 1_000);
    const { output } = await runToEnd("film/render.requested", { film_id: filmId, shots }, "COMPLETED");

    // The fan-in: every shot's wait matched its own completed event.
    const result = output as { film_id: string; shots: Array<Record<string, unknown>> };
    expect(result.film_id).toBe(filmId);
    expect(result.shots.map(({ shot_id, generation_id }) => ({ shot_id, generation_id }))).toEqual(
      shots.map(({ id }) => ({ shot_id: id, generation_id: generationIdOf(filmId, id) })),
    );
    await api.waitForAllRunsEnded(since);
    const completed = (await api.eventsByName(COMPLETED)).filter(
      (event) => (event.data.correlation as { film?: unknown } | null)?.film === filmId,
    );
    expect(completed).toHaveLength(shots.length);
    for (const [index, { id }] of shots.entries()) {
      const [ending] = completed.filter((event) => (event.data.correlation as { shot: unknown }).shot === id);
      expect(ending?.data.generation_id).toBe(generationIdOf(filmId, id));
      expect(result.shots[index]?.video_url).toBe(ending?.data.video_url);
      const record = await stage.metadataStore.get(generationIdOf(filmId, id));
      expect(record?.status).toBe("succeeded");
      await expectStoredVideo(record?.result?.video_url, record?.result?.bytes);
    }

    // Provider tasks = distinct requests: c and d shared one.
    const tasks = stage.sandbox.tasks().filter((task) => task.prompt?.startsWith(filmId));
    expect(tasks).toHaveLength(3);
    const c = await stage.metadataStore.get(generationIdOf(filmId, "c"));
    const d = await stage.metadataStore.get(generationIdOf(filmId, "d"));
    expect(d?.result?.sha256).toBe(c?.result?.sha256);
    expect(await stage.metadataStore.countSlots()).toBe(0);

    // The same shots in another film: the cache answers each one moments after the send, which only waits
    // registered before the send runs (the app's parallel group) can catch.
    const encoreId = newFilmId("encore");
    const encore = await runToEnd("film/render.requested", { film_id: encoreId, shots }, "COMPLETED");
    // Every wait existed on the server before the first request was sent.
    const waitsStarted = await stepStarts(encore.runId);
    const sentAt = Math.min(
      ...(await api.eventsByName("video/generation.requested"))
        .filter((event) => (event.data.correlation as { film?: unknown } | null)?.film === encoreId)
        .map((event) => event.ts),
    );
    for (const { id } of shots) expect(waitsStarted.get(`shot-${id}-completed`)).toBeLessThan(sentAt);
    const encoreShots = (encore.output as { shots: Array<Record<string, unknown>> }).shots;
    expect(encoreShots.map(({ generation_id }) => generation_id)).toEqual(
      shots.map(({ id }) => generationIdOf(encoreId, id)),
    );
    for (const [index, { id }] of shots.entries()) {
      const record = await stage.metadataStore.get(generationIdOf(encoreId, id));
      expect(record?.result).toMatchObject({ cache_hit: true, video_url: encoreShots[index]?.video_url });
    }
    expect(stage.sandbox.tasks().filter((task) => task.prompt?.startsWith(filmId))).toHaveLength(3);
  }, 180_000);

  it("render-shot: invokes film-pipeline-video-generate and returns its response in the invoker's output", async () => {
    const filmId = newFilmId("invoke");
    const generationId = generationIdOf(filmId, "1");
    const since = new Date(Date.now() - 1_000);
    const { output } = await runToEnd(
      "film/shot.render-requested",
      { film_id: filmId, shot: shot("1", `${filmId}: rain on a window`) },
      "COMPLETED",
    );
    const record = await stage.metadataStore.get(generationId);
    expect(record?.status).toBe("succeeded");
    expect(output).toEqual({
      url: record?.result?.video_url,
      seconds: record?.result?.duration,
      cache_hit: false,
    });
    expect(record?.result?.duration).toBeCloseTo(2, 1);
    await expectStoredVideo(record?.result?.video_url, record?.result?.bytes);

    // The child run: the stage's function on the app's client, started by the invocation, with the same response.
    const child = (await api.runsSince(since)).find(({ id }) => id === record?.runId);
    expect(child).toMatchObject({
      functionSlug: "film-pipeline-video-generate",
      eventName: "inngest/function.invoked",
      status: "COMPLETED",
    });
    expect((await api.run(String(record?.runId))).output).toMatchObject({
      generation_id: generationId,
      video_url: record?.result?.video_url,
    });
  }, 180_000);

  it("render-shot: a generation that fails makes the invoker's run fail with the stage's error code", async () => {
    const filmId = newFilmId("invalid");
    const generationId = generationIdOf(filmId, "1");
    const { output } = await runToEnd(
      "film/shot.render-requested",
      { film_id: filmId, shot: { ...shot("1", `${filmId}: far too long`), duration: 99 } },
      "FAILED",
    );
    expect(JSON.stringify(output)).toMatch(/invalid_input.*duration/);
    expect(await stage.metadataStore.get(generationId)).toMatchObject({
      status: "failed",
      errorCode: "invalid_input",
    });
    expect(stage.sandbox.tasks().filter((task) => task.prompt?.startsWith(filmId))).toHaveLength(0);
  }, 180_000);

  it("cut-shot: cancels a shot whose task is PENDING: record canceled, one canceled event, no completed", async () => {
    const filmId = newFilmId("cut");
    const { generationId, taskId, since, output } = await cutPendingShot(filmId);
    expect(output).toEqual({ generation_id: generationId, canceled: true, provider_task_canceled: true });

    const runs = await api.waitForAllRunsEnded(since);
    const record = await stage.metadataStore.get(generationId);
    expect(record?.status).toBe("canceled");
    expect(runs.find(({ id }) => id === record?.runId)).toMatchObject({
      functionSlug: "film-pipeline-video-generate",
      status: "CANCELLED",
    });
    // The stage's clean-up after Inngest's cancellation matched this app's function (its id names the app).
    expect(runs.filter(({ functionSlug }) => functionSlug.endsWith("-on-cancelled"))).toEqual([
      expect.objectContaining({
        functionSlug: "film-pipeline-video-generate-on-cancelled",
        status: "COMPLETED",
      }),
    ]);
    const canceled = (await api.eventsByName(CANCELED)).filter(ofGeneration(generationId));
    expect(canceled).toHaveLength(1);
    expect(canceled[0]!.data).toMatchObject({
      task_id: taskId,
      provider_task_canceled: true,
      reason: "cut in the edit",
      correlation: { film: filmId, shot: "1" },
    });
    expect((await api.eventsByName(COMPLETED)).filter(ofGeneration(generationId))).toHaveLength(0);
    expect(stage.sandbox.tasks().find((task) => task.taskId === taskId)?.status).toBe("CANCELED");
    expect(await stage.metadataStore.countSlots()).toBe(0);
  }, 180_000);

  it("a cut shot brought back by the dashboard's rerun of its run renders afresh under the same id", async () => {
    const filmId = newFilmId("restore");
    const { generationId, taskId, since } = await cutPendingShot(filmId);
    await api.waitForAllRunsEnded(since);
    const canceledRun = String((await stage.metadataStore.get(generationId))?.runId);

    const rerunId = await api.rerun(canceledRun);
    await api.waitForRunStatus(rerunId, ["COMPLETED"], 150_000);
    const record = await stage.metadataStore.get(generationId);
    expect(record).toMatchObject({ status: "succeeded", runId: rerunId });
    expect(record?.taskId).not.toBe(taskId);
    expect((await api.run(rerunId)).output).toMatchObject({ generation_id: generationId, cache_hit: false });
    const [completed] = await api.waitForEvents(COMPLETED, ofGeneration(generationId));
    expect(completed!.data.correlation).toEqual({ film: filmId, shot: "1" });
    expect(stage.sandbox.tasks().filter((task) => task.prompt?.startsWith(filmId))).toHaveLength(2);
  }, 180_000);

  it("video-gen send, installed with the package: the app's stage renders it, completed has the correlation", async () => {
    const generationId = `sent-${randomUUID()}`;
    const { stdout } = await promisify(execFile)(
      `${EXAMPLE_APP_DIR}node_modules/.bin/video-gen`,
      [
        "send",
        "--image",
        SAMPLE_IMAGE,
        "--prompt",
        `${generationId}: a kite over the dunes`,
        "--duration",
        "2",
      ].concat(["--generation-id", generationId, "--correlation", "shot=7", "--json"]),
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          ...stage.workerEnvironment({ INNGEST_DEV: server.url }),
        },
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ generation_id: generationId });

    const [completed] = await api.waitForEvents(COMPLETED, ofGeneration(generationId));
    expect(completed!.data).toMatchObject({ correlation: { shot: "7" }, cache_hit: false });
    const record = await stage.metadataStore.get(generationId);
    expect(record).toMatchObject({ status: "succeeded", taskId: completed!.data.task_id });
    await expect(api.waitForRunStatus(String(record?.runId), ["COMPLETED"])).resolves.toBe("COMPLETED");
  }, 180_000);
});

/**
 * Requests a shot through the app (`request-shot`), waits until its provider task is PENDING, then cuts it
 * (`cut-shot`) and returns the cut's output.
 */
async function cutPendingShot(filmId: string) {
  const generationId = generationIdOf(filmId, "1");
  const since = new Date(Date.now() - 1_000);
  await runToEnd(
    "film/shot.requested",
    { film_id: filmId, shot: shot("1", `${filmId}: a shot that is cut`) },
    "COMPLETED",
  );
  const taskId = await waitUntil(`the provider task of ${generationId}`, async () => {
    const record = await stage.metadataStore.get(generationId);
    return record?.status === "submitted" && record.taskId ? record.taskId : undefined;
  });
  expect(stage.sandbox.tasks().find((task) => task.taskId === taskId)?.status).toBe("PENDING");
  const { output } = await runToEnd(
    "film/shot.cut",
    { film_id: filmId, shot_id: "1", reason: "cut in the edit" },
    "COMPLETED",
  );
  return { generationId, taskId, since, output };
}
