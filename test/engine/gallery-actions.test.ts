import { describe, expect, it } from "vitest";
import { startCli } from "../cli/cli-process.ts";
import { findFreePort } from "../helpers/free-port.ts";
import { killOnExit } from "./child-cleanup.ts";
import {
  createGallerySession,
  type GallerySession,
  noticeOf,
  signIn,
  unescapeHtml,
} from "./gallery-session.ts";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

/** The operator token of every `serve` of this suite (at least 16 characters, as config requires). */
const TOKEN = "gallery-actions-operator-token-0123";
/** Prompts carrying this marker render for long: their task holds the only budget slot. */
const HOLD = "[hold the slot]";

const engine = useDevEngine({
  sandbox: {
    timings: { pendingMs: 300, renderMs: (task) => (task.prompt?.includes(HOLD) ? 10_000 : 500) },
  },
  workerEnvironment: { VIDEO_GEN_UI_TOKEN: TOKEN, VIDEO_GEN_UI_ACTIONS: "1", VIDEO_GEN_BUDGET: "1" },
});

/** The origin of the suite's `serve` (its Inngest endpoint without the path). */
function serveOrigin(): string {
  const worker = engine.workers[0];
  if (!worker) throw new Error("the suite's worker did not start");
  return worker.endpoint.replace(/\/api\/inngest$/, "");
}

const bearer = () => createGallerySession(serveOrigin(), { bearer: TOKEN });

let succeeded: Promise<{ generationId: string; runId: string; sha256: string }> | undefined;

/** One generation sent by event and finished, shared by the tests that replay it (made once, by whichever asks first). */
function succeededGeneration() {
  succeeded ??= (async () => {
    const request = engineRequest({ correlation: { suite: "gallery-actions" } });
    const [eventId] = await engine.api.sendEvents([requested(request)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(run!.id, ["COMPLETED"]);
    const { output } = await engine.api.run(run!.id);
    return {
      generationId: String(request.generation_id),
      runId: run!.id,
      sha256: (output as { sha256: string }).sha256,
    };
  })();
  return succeeded;
}

/** `video/generation.requested` events the server stored for `generationId`. */
async function requestedEventsOf(generationId: string) {
  return (await engine.api.eventsByName("video/generation.requested")).filter(
    (event) => event.data.generation_id === generationId,
  );
}

const detailPath = (id: string) => `/gallery/g/${encodeURIComponent(id)}`;

describe("the gallery of `video-gen serve` on the real Inngest dev server (token, actions on)", () => {
  it("lists a generation sent by event in /api/generations and on /gallery, with the poster it serves", async () => {
    const { generationId } = await succeededGeneration();
    const session = bearer();

    const unauthenticated = await fetch(`${serveOrigin()}/api/generations`);
    expect(unauthenticated.status).toBe(401);

    const api = await session.get("/api/generations?correlation=suite=gallery-actions");
    expect(api.status).toBe(200);
    const body = (await api.json()) as {
      generations: Array<Record<string, unknown>>;
      totals: { count: number; succeeded: number };
    };
    const listed = body.generations.find((view) => view.generation_id === generationId);
    expect(listed).toMatchObject({
      status: "succeeded",
      cache_hit: false,
      duration: 2,
      correlation: { suite: "gallery-actions" },
      media: {
        video: `/media/${generationId}/video.mp4`,
        poster: `/media/${generationId}/poster`,
        image: `/media/${generationId}/image`,
      },
    });
    expect(body.totals).toMatchObject({ count: 1, succeeded: 1 });

    const one = await session.get(`/api/generations/${encodeURIComponent(generationId)}`);
    expect(await one.json()).toMatchObject({ generation_id: generationId, status: "succeeded" });

    const grid = await session.page("/gallery");
    const card = new RegExp(
      `<li class="card status-succeeded" data-generation-id="${generationId}">[\\s\\S]*?</li>`,
    ).exec(grid)?.[0];
    expect(card, "the generation's card on /gallery").toBeDefined();
    expect(card).toContain(`<img loading="lazy" src="/media/${generationId}/poster"`);
    expect(card).toContain('<span class="badge badge-succeeded" data-field="status">succeeded</span>');

    // The poster the card links is an image the server answers with, made by the run's `poster` step.
    const poster = await session.get(`/media/${encodeURIComponent(generationId)}/poster`);
    expect(poster.status).toBe(200);
    expect(poster.headers.get("content-type")).toMatch(/^image\/(webp|jpeg)/);
    const bytes = Buffer.from(await poster.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(500);
    const isWebp =
      bytes.subarray(0, 4).toString("latin1") === "RIFF" &&
      bytes.subarray(8, 12).toString("latin1") === "WEBP";
    const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
    expect(isWebp || isJpeg).toBe(true);
    expect((await engine.stage.metadataStore.get(generationId))?.posterKey).toMatch(/^posters\//);
  }, 120_000);

  it("Replay from the detail page (signed in by the login form) starts a cache-hit run and leads to its page", async () => {
    const { generationId, sha256 } = await succeededGeneration();
    const origin = serveOrigin();
    const session = createGallerySession(origin, { cookie: await signIn(origin, TOKEN) });
    const tasksBefore = engine.stage.sandbox.tasks().length;

    const detail = await session.page(detailPath(generationId));
    expect(detail).toContain(`<a class="button" href="${detailPath(generationId)}/replay">Replay…</a>`);
    const csrf = await session.csrfFor(generationId, "replay");

    const posted = await session.post(`${detailPath(generationId)}/replay`, { csrf });
    expect(posted.status, await posted.clone().text()).toBe(303);
    const location = posted.headers.get("location") ?? "";
    const replayId = `${generationId}-replay-1`;
    expect(location.startsWith(`${detailPath(replayId)}?`), location).toBe(true);

    // The event went to the server, as any client's would, and started a run of the served function.
    const [event] = await waitUntil("the replay's requested event", async () => {
      const events = await requestedEventsOf(replayId);
      return events.length > 0 ? events : undefined;
    });
    expect(event!.data).toMatchObject({ generation_id: replayId, correlation: { suite: "gallery-actions" } });
    const [run] = await engine.api.waitForEventRuns(event!.id);
    await engine.api.waitForRunStatus(run!.id, ["COMPLETED"]);
    const { output } = await engine.api.run(run!.id);
    expect(output).toMatchObject({ generation_id: replayId, cache_hit: true, sha256 });
    expect(engine.stage.sandbox.tasks()).toHaveLength(tasksBefore);

    // Where the redirect leads: the new generation's page, with the notice and its result.
    const page = await session.page(location);
    expect(noticeOf(page)).toEqual({ kind: "info", text: `Replay sent as ${replayId}.` });
    expect(page).toContain(`<article class="detail" data-generation-id="${replayId}"`);
    expect(page).toContain('<span class="badge badge-succeeded" data-field="status">succeeded</span>');
    expect(page).toContain(`poster="/media/${replayId}/poster"`);
    expect(page).toContain(`<code>${run!.id}</code>`);
    expect(await engine.stage.metadataStore.get(replayId)).toMatchObject({
      status: "succeeded",
      runId: run!.id,
    });
  }, 120_000);

  it("the replay's redirect target answers at once, before the new run has written its record", async () => {
    const { generationId } = await succeededGeneration();
    const session = bearer();
    const csrf = await session.csrfFor(generationId, "replay");
    const posted = await session.post(`${detailPath(generationId)}/replay`, { csrf });
    expect(posted.status).toBe(303);
    const location = posted.headers.get("location") ?? "";
    const replayId = decodeURIComponent(/^\/gallery\/g\/([^/?]+)\?/.exec(location)?.[1] ?? "");
    // A browser follows the 303 at once: the page it lands on must say what happened and show the new run, not 404.
    const landed = await session.get(location);
    const text = await landed.text();
    // The run ends before the assertions, so a failure here leaves nothing running into the next test.
    const [event] = await waitUntil("the replay's requested event", async () => {
      const events = await requestedEventsOf(replayId);
      return events.length > 0 ? events : undefined;
    });
    const [run] = await engine.api.waitForEventRuns(event!.id);
    await engine.api.waitForRunStatus(run!.id, ["COMPLETED"]);

    expect(landed.status, text.slice(0, 400)).toBe(200);
    expect(noticeOf(text)?.text).toBe(`Replay sent as ${replayId}.`);
    expect(text).toContain(replayId);
  }, 120_000);

  it("Cancel from the page of a run queued for the budget slot: canceled record and run, one canceled event, shown", async () => {
    const since = new Date(Date.now() - 1_000);
    const session = bearer();
    const holder = engineRequest({ prompt: `the holder ${HOLD} ${Date.now()}` });
    const [holderEvent] = await engine.api.sendEvents([requested(holder)]);
    const [holderRun] = await engine.api.waitForEventRuns(holderEvent!);
    await waitUntil("the holder's provider task", async () => {
      const record = await engine.stage.metadataStore.get(String(holder.generation_id));
      return record?.taskId ? true : undefined;
    });

    const queued = engineRequest({ correlation: { case: "gallery-cancel" } });
    const queuedId = String(queued.generation_id);
    const [queuedEvent] = await engine.api.sendEvents([requested(queued)]);
    const [queuedRun] = await engine.api.waitForEventRuns(queuedEvent!);
    await waitUntil(`${queuedId} to wait for a budget slot`, async () => {
      const record = await engine.stage.metadataStore.get(queuedId);
      return record?.stage === "waiting-for-slot" ? record : undefined;
    });

    const waiting = await session.page(detailPath(queuedId));
    expect(waiting).toContain('data-live="1"');
    expect(waiting).toContain("queue 1 of 1");
    expect(waiting).toContain(`<a class="button danger" href="${detailPath(queuedId)}/cancel">Cancel…</a>`);

    const csrf = await session.csrfFor(queuedId, "cancel");
    const posted = await session.post(`${detailPath(queuedId)}/cancel`, { csrf, reason: "wrong shot" });
    expect(posted.status, await posted.clone().text()).toBe(303);
    const location = posted.headers.get("location") ?? "";
    expect(location.startsWith(`${detailPath(queuedId)}?`), location).toBe(true);

    await engine.api.waitForRunStatus(queuedRun!.id, ["CANCELLED"]);
    await engine.api.waitForRunStatus(holderRun!.id, ["COMPLETED"]);
    await engine.api.waitForAllRunsEnded(since);

    expect(await engine.stage.metadataStore.get(queuedId)).toMatchObject({
      status: "canceled",
      taskId: null,
    });
    const canceled = (await engine.api.eventsByName("video/generation.canceled")).filter(
      (event) => event.data.generation_id === queuedId,
    );
    expect(canceled).toHaveLength(1);
    expect(canceled[0]!.data).toMatchObject({
      task_id: null,
      provider_task_canceled: false,
      reason: "wrong shot",
      correlation: { case: "gallery-cancel" },
    });
    expect(engine.stage.sandbox.tasks().filter((task) => task.prompt === queued.prompt)).toHaveLength(0);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);

    const page = await session.page(location);
    expect(noticeOf(page)?.text).toMatch(
      /^Canceled: no provider task had been submitted; record marked canceled/,
    );
    expect(page).toContain('<span class="badge badge-canceled" data-field="status">canceled</span>');
    expect(page).not.toContain("Cancel…");
    expect(page).not.toContain('data-live="1"');
  }, 180_000);

  it("refuses a Replay POST without the CSRF token, or from a foreign Origin, with 403, and sends nothing", async () => {
    const { generationId } = await succeededGeneration();
    const since = new Date();
    const origin = serveOrigin();
    const cookieSession = createGallerySession(origin, { cookie: await signIn(origin, TOKEN) });
    const sessions: GallerySession[] = [bearer(), cookieSession];
    const eventsBefore = (await engine.api.eventsByName("video/generation.requested")).length;

    for (const session of sessions) {
      const csrf = await session.csrfFor(generationId, "replay");
      const attempts = [
        { form: {}, origin: undefined, refusal: /CSRF token/ },
        { form: { csrf: "forged" }, origin: undefined, refusal: /CSRF token/ },
        { form: { csrf }, origin: "http://attacker.example", refusal: /cross-origin request refused/ },
        { form: { csrf }, origin: null, refusal: /cross-origin request refused \(Origin missing/ },
      ] as const;
      for (const attempt of attempts) {
        const response = await session.post(`${detailPath(generationId)}/replay`, attempt.form, {
          origin: attempt.origin,
        });
        const text = await response.text();
        expect(response.status, JSON.stringify(attempt)).toBe(403);
        expect(unescapeHtml(text)).toMatch(attempt.refusal);
      }
    }
    // The other session's token does not pass either: the cookie's token is bound to the cookie.
    const bearerCsrf = await sessions[0]!.csrfFor(generationId, "replay");
    const crossed = await cookieSession.post(`${detailPath(generationId)}/replay`, { csrf: bearerCsrf });
    expect(crossed.status).toBe(403);

    // A refused POST sends nothing: the server stored no event and started no run.
    expect((await engine.api.eventsByName("video/generation.requested")).length).toBe(eventsBefore);
    expect(await engine.api.runsSince(since)).toEqual([]);
  }, 120_000);

  it("with no Inngest server at INNGEST_BASE_URL, Replay redirects back with an error naming the URL it tried", async () => {
    const { generationId } = await succeededGeneration();
    const since = new Date();
    const unreachable = `http://127.0.0.1:${await findFreePort()}/`;
    const port = await findFreePort();
    const cli = startCli(
      ["serve", "--port", String(port), "--host", "127.0.0.1"],
      engine.stage.workerEnvironment({
        INNGEST_DEV: "1",
        INNGEST_BASE_URL: unreachable,
        VIDEO_GEN_UI_TOKEN: TOKEN,
        VIDEO_GEN_UI_ACTIONS: "1",
      }),
    );
    const forget = killOnExit(() => cli.child.kill("SIGKILL"));
    try {
      await cli.waitForOutput(/Replay and Cancel on/, 90_000);
      const session = createGallerySession(`http://127.0.0.1:${port}`, { bearer: TOKEN });
      const csrf = await session.csrfFor(generationId, "replay");
      const posted = await session.post(`${detailPath(generationId)}/replay`, { csrf });
      expect(posted.status, await posted.clone().text()).toBe(303);
      const location = posted.headers.get("location") ?? "";
      expect(location.startsWith(`${detailPath(generationId)}?error=`), location).toBe(true);

      const page = await session.page(location);
      const notice = noticeOf(page);
      expect(notice?.kind).toBe("error");
      expect(notice?.text).toContain(`could not reach the Inngest event API at ${unreachable}`);
      expect(notice?.text).toContain("connection refused");
      expect(notice?.text).toContain("set by INNGEST_BASE_URL");
      // The page is the original generation's, still offering the action to try again.
      expect(page).toContain(`<article class="detail" data-generation-id="${generationId}"`);
      expect(page).toContain("Replay…");
    } finally {
      const exited = cli.exited(10_000);
      cli.child.kill("SIGTERM");
      await exited;
      forget();
    }
    // Nothing reached the real server, and no replay was recorded.
    expect(await engine.api.runsSince(since)).toEqual([]);
    const replays = (await engine.api.eventsByName("video/generation.requested")).filter(
      (event) =>
        typeof event.data.generation_id === "string" &&
        event.data.generation_id.startsWith(`${generationId}-replay-`) &&
        event.ts >= since.getTime(),
    );
    expect(replays).toEqual([]);
  }, 150_000);
});
