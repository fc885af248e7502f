import { mkdir, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";
import { createGenerationQueries } from "../../src/metadata/generation-queries.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { createPostgresMetadataStore } from "../../src/metadata/postgres-metadata-store.ts";
import { createPgSqlClient, type SqlClient } from "../../src/metadata/sql-client.ts";
import { createSafeFetcher } from "../../src/net/safe-fetch.ts";
import { createUrlGuard } from "../../src/net/url-guard.ts";
import { createLocalObjectStore } from "../../src/storage/local-object-store.ts";
import { findFreePort } from "../helpers/free-port.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import {
  launchChromium,
  openWatchedContext,
  REBOUND_HOST,
  unexpectedConsoleErrors,
  type WatchedContext,
} from "./browser-session.ts";
import {
  type GalleryFixture,
  type GalleryFixtures,
  RENDER_ESTIMATE_S,
  SCRIPT_PROMPT,
  seedGalleryFixtures,
} from "./gallery-fixtures.ts";
import { type GalleryServer, startGalleryServer } from "./gallery-servers.ts";

/** The operator token of the server that requires one. */
const TOKEN = "gallery-browser-operator-token-7f3a";
const SCREENSHOTS = fileURLToPath(new URL("../../docs/images/", import.meta.url));
/** What a presigned S3 or OSS URL carries; none of it may reach a page or the JSON. */
const SIGNED_URL_MARKERS = ["X-Amz-Signature", "Signature=", "Expires="];
const METRICS_TEXT = "# TYPE video_gen_build_info gauge\nvideo_gen_build_info 1\n";

let database: { url: string; drop(): Promise<void> } | undefined;
let sql: SqlClient | undefined;
let store: MetadataStore;
let workDir: string;
let fixtures: GalleryFixtures;
let browser: Browser | undefined;
let open: GalleryServer | undefined;
let guarded: GalleryServer | undefined;
const serverErrors: unknown[] = [];
const contexts: WatchedContext[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  sql = createPgSqlClient({ connectionString: database.url });
  store = createPostgresMetadataStore({ sql });
  await store.migrate();
  workDir = await mkdtemp(path.join(tmpdir(), "gallery-browser-"));
  const objectStore = createLocalObjectStore({
    rootDir: path.join(workDir, "store"),
    // The gallery only reads; the fetcher is never used.
    fetcher: createSafeFetcher({ guard: createUrlGuard({ allowHosts: [] }), maxBytes: 1024 }),
    maxVideoBytes: 100 * 1024 * 1024,
  });
  const ffmpegPath = locateFfmpeg().ffmpeg;
  if (!ffmpegPath) throw new Error("no ffmpeg found (install Debian ffmpeg or run npm ci)");
  const clips = path.join(workDir, "clips");
  await mkdir(clips);
  [fixtures, browser] = await Promise.all([
    seedGalleryFixtures({ store, objectStore, ffmpegPath, workDir: clips }),
    launchChromium(),
  ]);
  const handler = {
    metadataStore: store,
    queries: createGenerationQueries({ sql }),
    objectStore,
    renderEstimateSeconds: RENDER_ESTIMATE_S,
    onError: (error: unknown) => serverErrors.push(error),
  };
  open = await startGalleryServer({
    access: { token: undefined, loopbackOnly: true, allowedHosts: [] },
    handler,
  });
  guarded = await startGalleryServer({
    access: { token: TOKEN, loopbackOnly: true, allowedHosts: [] },
    handler: {
      ...handler,
      metrics: async () =>
        new Response(METRICS_TEXT, {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        }),
    },
  });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((watched) => watched.close()));
  expect(serverErrors).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([open?.close(), guarded?.close()]);
  await sql?.close();
  await database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** A fresh browser context (no cookies), closed after the test. */
async function session(): Promise<WatchedContext> {
  if (!browser) throw new Error("the browser did not start");
  const watched = await openWatchedContext(browser);
  contexts.push(watched);
  return watched;
}

function server(which: "open" | "guarded"): GalleryServer {
  const chosen = which === "open" ? open : guarded;
  if (!chosen) throw new Error(`the ${which} gallery server did not start`);
  return chosen;
}

/** No console error but the statuses provoked on purpose, no CSP violation. */
async function expectCleanPages(watched: WatchedContext, provoked: number[] = []): Promise<void> {
  expect(unexpectedConsoleErrors(watched, provoked)).toEqual([]);
  expect(watched.cspViolations).toEqual([]);
}

function cardIds(page: Page): Promise<string[]> {
  return page.locator("li.card").evaluateAll((cards) => cards.map((card) => card.dataset.generationId));
}

function card(page: Page, id: string) {
  return page.locator(`li.card[data-generation-id="${id}"]`);
}

/** Signs in through the login form of the guarded server and lands on `next`. */
async function signIn(page: Page, next = "/gallery"): Promise<void> {
  const { origin } = server("guarded");
  const answer = await page.goto(`${origin}/gallery/login?next=${encodeURIComponent(next)}`);
  expect(answer?.status()).toBe(200);
  await page.locator('input[name="token"]').fill(TOKEN);
  await Promise.all([
    page.waitForURL(`${origin}${next}`),
    page.locator('form.login button[type="submit"]').click(),
  ]);
}

/** Signs in with a plain HTTP client: the session cookie, as `name=value`. */
async function signInCookie(): Promise<string> {
  const { origin } = server("guarded");
  const answer = await fetch(`${origin}/gallery/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ token: TOKEN, next: "/gallery" }),
  });
  expect(answer.status).toBe(303);
  const cookie = answer.headers.getSetCookie()[0] ?? "";
  return cookie.split(";")[0] ?? "";
}

/** The CSRF token on an action's confirm page. */
async function csrfOf(
  origin: string,
  id: string,
  action: "cancel" | "replay",
  cookie?: string,
): Promise<string> {
  const page = await fetch(`${origin}/gallery/g/${id}/${action}`, { headers: cookie ? { cookie } : {} });
  expect(page.status).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error("no CSRF token on the confirm page");
  return csrf;
}

function formPost(url: string, form: Record<string, string>, headers: Record<string, string>) {
  return fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form),
  });
}

/** A GET through node:http, which (unlike fetch) sends the Host header it is given. */
function getWithHost(
  port: number,
  pathname: string,
  host: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path: pathname, headers: { host } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
  });
}

function secondsText(seconds: number): string {
  const rounded = Math.round(seconds * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded : rounded.toFixed(1)} s`;
}

describe("the gallery in Chromium", () => {
  it("shows one card per generation, newest first, with its status badge, and the totals of the filter", async () => {
    const watched = await session();
    const { page } = watched;
    const answer = await page.goto(`${server("open").origin}/gallery`);
    expect(answer?.status()).toBe(200);
    expect(await cardIds(page)).toEqual(fixtures.all.map((fixture) => fixture.id));
    for (const fixture of fixtures.all) {
      await expect
        .soft(card(page, fixture.id).locator('[data-field="status"]').textContent())
        .resolves.toBe(fixture.status);
    }
    const totals = fixtures.totals;
    const total = (name: string) => page.locator(`[data-total="${name}"]`).textContent();
    expect(await total("count")).toBe(String(totals.count));
    expect(await total("succeeded")).toBe(String(totals.succeeded));
    expect(await total("failed")).toBe(String(totals.failed));
    expect(await total("canceled")).toBe(String(totals.canceled));
    expect(await total("seconds")).toBe(secondsText(totals.seconds));
    expect(await total("cost")).toBe(`${totals.cost.toFixed(2)} CNY`);

    const take = fixtures.shotTakes[0] as GalleryFixture;
    const takeCard = card(page, take.id);
    expect(await takeCard.locator('[data-field="duration"]').textContent()).toBe(
      secondsText(take.stored?.durationSeconds ?? 0),
    );
    expect(await takeCard.locator('[data-field="size"]').textContent()).toBe("640×360");
    expect(await takeCard.locator('[data-field="cost"]').textContent()).toBe(
      `${take.stored?.cost.toFixed(2)} CNY`,
    );
    expect(await card(page, fixtures.failed.id).locator(".error-line").textContent()).toBe(
      fixtures.failed.error?.code,
    );
    for (const fixture of fixtures.all) {
      // A poster where there is a video; otherwise the reference image stands in, dimmed, under the state.
      expect(await card(page, fixture.id).locator(".thumb > img").count()).toBe(fixture.stored ? 1 : 0);
      if (!fixture.stored) {
        expect(await card(page, fixture.id).locator(".no-poster").textContent()).toBe(
          fixture.id === fixtures.live.id ? "rendering" : fixture.status,
        );
      }
    }
    // The failed and the live generation stored their reference image (the canceled one ended before that).
    for (const fixture of [fixtures.failed, fixtures.live]) {
      expect(await card(page, fixture.id).locator(".thumb .reference-thumb").count()).toBe(1);
    }
    expect(await card(page, fixtures.live.id).locator('[data-field="progress"] progress').count()).toBe(1);

    // The JSON API says the same.
    const json = (await (await fetch(`${server("open").origin}/api/generations`)).json()) as {
      generations: Array<{ generation_id: string; status: string }>;
      totals: { count: number };
    };
    expect(json.generations.map((view) => [view.generation_id, view.status])).toEqual(
      fixtures.all.map((fixture) => [fixture.id, fixture.status]),
    );
    expect(json.totals.count).toBe(totals.count);

    // The README's screenshot, once every poster in view has loaded.
    await expect
      .poll(() =>
        page.locator("li.card img").evaluateAll((images) => images.every((i) => i.naturalWidth > 0)),
      )
      .toBe(true);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "gallery.png") });
    await expectCleanPages(watched);
  });

  it("keeps the status and time filters in the URL, and across a reload", async () => {
    const watched = await session();
    const { page } = watched;
    await page.goto(`${server("open").origin}/gallery`);
    const form = page.locator("form.filters");
    await form.locator('input[name="status"][value="failed"]').check();
    await form.locator('input[name="status"][value="canceled"]').check();
    await form.locator('input[name="from"]').fill("1h");
    await Promise.all([page.waitForURL(/status=failed/), form.locator('button[type="submit"]').click()]);

    const check = async () => {
      const url = new URL(page.url());
      expect(url.searchParams.getAll("status")).toEqual(["failed", "canceled"]);
      expect(url.searchParams.get("from")).toBe("1h");
      expect(await cardIds(page)).toEqual([fixtures.canceled.id, fixtures.failed.id]);
      expect(await page.locator('[data-total="count"]').textContent()).toBe("2");
      expect(await form.locator('input[name="status"][value="failed"]').isChecked()).toBe(true);
      expect(await form.locator('input[name="status"][value="succeeded"]').isChecked()).toBe(false);
      expect(await form.locator('input[name="from"]').inputValue()).toBe("1h");
    };
    await check();
    await page.reload();
    await check();

    // A time range that ended before the fixtures were made matches none of them.
    await form.locator('input[name="from"]').fill("2020-01-01");
    await form.locator('input[name="to"]').fill("2020-01-02");
    await Promise.all([page.waitForURL(/to=2020-01-02/), form.locator('button[type="submit"]').click()]);
    expect(await cardIds(page)).toEqual([]);
    expect(await page.locator("p.empty").textContent()).toContain("No generation matches");
    await expectCleanPages(watched);
  });

  it("searches prompt words and seeds, from the form", async () => {
    const watched = await session();
    const { page } = watched;
    const { origin } = server("open");
    const search = async (field: "q" | "seed", value: string) => {
      await page.goto(`${origin}/gallery`);
      await page.locator(`form.filters input[name="${field}"]`).fill(value);
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get(field) === value),
        page.locator('form.filters button[type="submit"]').click(),
      ]);
      return cardIds(page);
    };
    const [take1, take2, take3] = fixtures.shotTakes as [GalleryFixture, GalleryFixture, GalleryFixture];
    expect(await search("q", "sunset")).toEqual([take3.id, take2.id, take1.id]);
    expect(await search("q", "warmer")).toEqual([take3.id]);
    expect(await search("q", "script")).toEqual([fixtures.scriptPrompt.id]);
    expect(await search("q", "volcano")).toEqual([]);
    expect(await search("seed", String(take2.seed))).toEqual([take2.id]);
    await page.reload();
    expect(await cardIds(page)).toEqual([take2.id]);
    expect(await page.locator('form.filters input[name="seed"]').inputValue()).toBe(String(take2.seed));
    await expectCleanPages(watched);
  });

  it("groups by a correlation key, and opens a group's takes and their comparison", async () => {
    const watched = await session();
    const { page } = watched;
    const { origin } = server("open");
    await page.goto(`${origin}/gallery`);
    await page.locator('form.filters input[name="group"]').fill("shot");
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get("group") === "shot"),
      page.locator('form.filters button[type="submit"]').click(),
    ]);
    const rows = await page
      .locator("table.groups tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())),
      );
    // Newest group first: value, takes.
    expect(rows.map((row) => [row[1], row[2]])).toEqual([
      ["s5", "1"],
      ["s4", "1"],
      ["s3", "1"],
      ["s1", "3"],
      ["s2", "1"],
    ]);
    const s1 = page.locator("table.groups tbody tr", { hasText: "s1" });
    expect(await s1.locator('a[href*="/gallery/compare"]').getAttribute("href")).toBe(
      "/gallery/compare?correlation=shot%3Ds1",
    );
    await Promise.all([page.waitForURL(/correlation=shot%3Ds1/), s1.locator("a", { hasText: "s1" }).click()]);
    expect(await cardIds(page)).toEqual(fixtures.shotTakes.map((take) => take.id).reverse());
    await expectCleanPages(watched);
  });

  it("pages with a cursor through every record exactly once", async () => {
    const watched = await session();
    const { page } = watched;
    await page.goto(`${server("open").origin}/gallery?limit=2`);
    const seen: string[] = [];
    for (let pageNumber = 1; pageNumber <= 10; pageNumber++) {
      const ids = await cardIds(page);
      expect(ids.length).toBeLessThanOrEqual(2);
      seen.push(...ids);
      expect(await page.locator('[data-total="count"]').textContent()).toBe(String(fixtures.totals.count));
      const older = page.locator('nav.pages a[rel="next"]');
      if ((await older.count()) === 0) break;
      const before = page.url();
      await Promise.all([page.waitForURL((url) => url.href !== before), older.click()]);
      expect(new URL(page.url()).searchParams.get("limit")).toBe("2");
    }
    expect(seen).toEqual(fixtures.all.map((fixture) => fixture.id));
    await expectCleanPages(watched);
  });

  it("loads every lazy poster once scrolled into view", async () => {
    const watched = await session();
    const { page } = watched;
    const posterResponses: Array<{ status: number; type: string }> = [];
    const videoRequests: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/video.mp4")) videoRequests.push(request.url());
    });
    page.on("response", async (response) => {
      if (/\/media\/[^/]+\/poster$/.test(new URL(response.url()).pathname)) {
        posterResponses.push({
          status: response.status(),
          type: (await response.allHeaders())["content-type"] ?? "",
        });
      }
    });
    // A narrow window puts most cards below the fold.
    await page.setViewportSize({ width: 420, height: 600 });
    await page.goto(`${server("open").origin}/gallery`);
    const posters = page.locator("li.card .thumb > img");
    const withPoster = fixtures.all.filter((fixture) => fixture.stored);
    expect(await posters.count()).toBe(withPoster.length);
    expect(
      await posters.evaluateAll((images) => images.map((image) => image.getAttribute("loading"))),
    ).toEqual(withPoster.map(() => "lazy"));
    for (let index = 0; index < withPoster.length; index++) await posters.nth(index).scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 10_000);
    await expect
      .poll(() =>
        posters.evaluateAll((images) => images.map((image) => image.complete && image.naturalWidth)),
      )
      .toEqual(withPoster.map(() => 640));
    expect(posterResponses.length).toBe(withPoster.length);
    expect(posterResponses.every((answer) => answer.status === 200 && answer.type === "image/webp")).toBe(
      true,
    );
    // The grid shows posters only: no video is fetched.
    expect(videoRequests).toEqual([]);
    await expectCleanPages(watched);
  });

  it("requests no MP4 before play, then plays the take without a media error", async () => {
    const watched = await session();
    const { page } = watched;
    const take = fixtures.shotTakes[0] as GalleryFixture;
    const videoRequests: string[] = [];
    const videoStatuses: number[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/video.mp4")) videoRequests.push(request.url());
    });
    page.on("response", (response) => {
      if (response.url().includes("/video.mp4")) videoStatuses.push(response.status());
    });
    await page.goto(`${server("open").origin}/gallery/g/${take.id}`);
    await page.waitForLoadState("networkidle");
    const video = page.locator("article.detail video");
    expect(await video.getAttribute("preload")).toBe("none");
    expect(await video.getAttribute("poster")).toBe(`/media/${take.id}/poster`);
    expect(await video.getAttribute("controls")).not.toBeNull();
    await expect
      .poll(() => page.locator("figure.reference img").evaluate((image) => image.naturalWidth))
      .toBe(1280);
    await page.waitForTimeout(500);
    expect(videoRequests).toEqual([]);
    expect(await video.evaluate((element) => element.readyState)).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOTS, "gallery-detail.png") });

    await video.evaluate((element) => element.play());
    await expect
      .poll(() => video.evaluate((element) => element.currentTime), { timeout: 10_000 })
      .toBeGreaterThan(0.3);
    expect(await video.evaluate((element) => element.error?.code ?? null)).toBeNull();
    expect(await video.evaluate((element) => [element.videoWidth, element.videoHeight])).toEqual([640, 360]);
    expect(videoRequests.length).toBeGreaterThan(0);
    // Chromium asks for the media with a Range header; the server answers 206.
    expect(videoStatuses).toContain(206);
    await expectCleanPages(watched);
  });

  it("shows a failure's code and message, and a cancel's reason, on their detail pages", async () => {
    const watched = await session();
    const { page } = watched;
    const { origin } = server("open");
    await page.goto(`${origin}/gallery/g/${fixtures.failed.id}`);
    expect(await page.locator(".error-box code").textContent()).toBe(fixtures.failed.error?.code);
    expect(await page.locator(".error-box").textContent()).toContain(fixtures.failed.error?.message);
    expect(await page.locator("h1 [data-field='status']").textContent()).toBe("failed");
    expect(await page.locator("article.detail video").count()).toBe(0);
    await page.goto(`${origin}/gallery/g/${fixtures.canceled.id}`);
    expect(await page.locator(".error-box").textContent()).toContain("wrong reference image");
    expect(await page.locator("h1 [data-field='status']").textContent()).toBe("canceled");
    await expectCleanPages(watched);
  });

  it("starts the compare view's players together and marks what differs", async () => {
    const watched = await session();
    const { page } = watched;
    await page.goto(`${server("open").origin}/gallery/compare?correlation=${encodeURIComponent("shot=s1")}`);
    const takes = page.locator("figure.take");
    expect(
      await takes.evaluateAll((figures) => figures.map((figure) => figure.dataset.generationId)),
    ).toEqual(fixtures.shotTakes.map((take) => take.id));
    const differing = await page
      .locator("table.compare-table tr.differs th")
      .evaluateAll((cells) => cells.map((cell) => cell.firstChild.textContent.trim()));
    expect(differing).toEqual(["prompt", "seed"]);
    const same = await page
      .locator("table.compare-table tr.same th")
      .evaluateAll((cells) => cells.map((cell) => cell.textContent.trim()));
    expect(same).toEqual(expect.arrayContaining(["duration", "size", "reference_image"]));

    const videos = page.locator("video.synced");
    expect(await videos.count()).toBe(3);
    await page.locator('[data-action="play-all"]').click();
    await expect
      .poll(
        () =>
          videos.evaluateAll((elements) =>
            elements.every((element) => !element.paused && element.currentTime > 0.5),
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    const clocks = await videos.evaluateAll((elements) =>
      elements.map((element) => ({
        time: element.currentTime,
        ended: element.ended,
        error: element.error?.code ?? null,
      })),
    );
    const times = clocks.map((clock) => clock.time);
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(0.25);
    expect(clocks.every((clock) => !clock.ended && clock.error === null && clock.time > 0)).toBe(true);
    await expectCleanPages(watched);
  });

  it("advances a live card's progress without reloading the page", async () => {
    const watched = await session();
    const { page } = watched;
    await page.goto(`${server("open").origin}/gallery`);
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    const live = card(page, fixtures.live.id);
    expect(await live.getAttribute("data-live")).toBe("1");
    const bar = live.locator('[data-field="progress"] progress');
    const text = live.locator('[data-field="progress"] .progress-text');
    const first = await bar.evaluate((element) => element.value);
    const firstText = await text.textContent();
    expect(first).toBeGreaterThan(0.1);
    expect(first).toBeLessThan(0.9);
    expect(firstText).toMatch(/^rendering · \d+ % · about \d+ s left$/);
    await expect
      .poll(() => bar.evaluate((element) => element.value), { timeout: 8_000 })
      .toBeGreaterThan(first);
    await expect.poll(() => text.textContent(), { timeout: 4_000 }).not.toBe(firstText);
    expect(navigations).toBe(0);
    expect(await live.locator('[data-field="status"]').textContent()).toBe("submitted");
    await expectCleanPages(watched);
  });

  it("renders a <script> prompt as text", async () => {
    const watched = await session();
    const { page } = watched;
    const { origin } = server("open");
    const take = fixtures.shotTakes[0] as GalleryFixture;
    const id = fixtures.scriptPrompt.id;
    const injected = () => page.evaluate(() => (globalThis as { __xss?: unknown }).__xss);
    await page.goto(`${origin}/gallery`);
    expect(await card(page, id).locator(".prompt").textContent()).toBe(SCRIPT_PROMPT);
    expect(await card(page, id).locator(".prompt").isVisible()).toBe(true);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await injected()).toBeUndefined();
    await page.goto(`${origin}/gallery/g/${id}`);
    expect(await page.locator(".full-prompt").textContent()).toBe(SCRIPT_PROMPT);
    expect(await page.getByText(SCRIPT_PROMPT).first().isVisible()).toBe(true);
    expect(await injected()).toBeUndefined();
    await page.goto(`${origin}/gallery/compare?id=${id}&id=${take.id}`);
    expect(await page.locator("table.compare-table tr.differs td").first().textContent()).toBe(SCRIPT_PROMPT);
    await page.goto(`${origin}/gallery/g/${id}/replay`);
    expect(await page.locator("form.confirm .prompt").textContent()).toBe(SCRIPT_PROMPT);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await injected()).toBeUndefined();
    await expectCleanPages(watched);

    // Were markup ever to slip through, the CSP would refuse to run it (and the watcher would see the violation).
    await page.evaluate(() => {
      const { document } = globalThis as unknown as {
        document: {
          createElement(tag: string): { textContent: string };
          body: { append(node: unknown): void };
        };
      };
      const script = document.createElement("script");
      script.textContent = "window.__xss = 3";
      document.body.append(script);
    });
    await expect.poll(() => watched.cspViolations.length).toBe(1);
    expect(watched.cspViolations[0]).toMatch(/^script-src/);
    expect(await injected()).toBeUndefined();
  });

  it("asks for the token: a login page for the pages, 401 JSON for the API, the media and /metrics", async () => {
    const { origin } = server("guarded");
    const take = fixtures.shotTakes[0] as GalleryFixture;
    const page401 = await fetch(`${origin}/gallery?status=failed`);
    expect(page401.status).toBe(401);
    expect(page401.headers.get("content-type")).toMatch(/^text\/html/);
    const loginHtml = await page401.text();
    expect(loginHtml).toContain('<form class="login"');
    expect(loginHtml).toContain('name="next" value="/gallery?status=failed"');
    for (const pathname of [
      "/api/generations",
      `/api/generations/${take.id}`,
      `/media/${take.id}/video.mp4`,
      `/media/${take.id}/poster`,
      `/media/${take.id}/image`,
      "/metrics",
    ]) {
      const answer = await fetch(`${origin}${pathname}`);
      expect.soft(answer.status, pathname).toBe(401);
      expect.soft(answer.headers.get("content-type"), pathname).toMatch(/^application\/json/);
      expect.soft(answer.headers.get("www-authenticate"), pathname).toBe('Bearer realm="video-gen"');
      expect.soft(((await answer.json()) as { error?: string }).error, pathname).toContain("token");
    }
    const wrongBearer = await fetch(`${origin}/api/generations`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(wrongBearer.status).toBe(401);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${origin}/api/generations`, { headers: bearer })).status).toBe(200);
    const metrics = await fetch(`${origin}/metrics`, { headers: bearer });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toBe(METRICS_TEXT);
    const range = await fetch(`${origin}/media/${take.id}/video.mp4`, {
      headers: { ...bearer, range: "bytes=0-9" },
    });
    expect(range.status).toBe(206);
  });

  it("signs in through the form with an HttpOnly, SameSite=Strict cookie", async () => {
    const watched = await session();
    const { page, context } = watched;
    const { origin } = server("guarded");
    const take = fixtures.shotTakes[1] as GalleryFixture;
    const first = await page.goto(`${origin}/gallery/g/${take.id}`);
    expect(first?.status()).toBe(401);
    expect(await page.locator("form.login").isVisible()).toBe(true);
    expect(await page.locator("li.card").count()).toBe(0);

    await page.locator('input[name="token"]').fill("not-the-token");
    const refused = page.waitForResponse((answer) => answer.url() === `${origin}/gallery/login`);
    await page.locator('form.login button[type="submit"]').click();
    expect((await refused).status()).toBe(401);
    expect(await page.locator(".notice-error").textContent()).toContain("not the operator token");
    expect(await context.cookies()).toEqual([]);

    await page.locator('input[name="token"]').fill(TOKEN);
    await Promise.all([
      page.waitForURL(`${origin}/gallery/g/${take.id}`),
      page.locator('form.login button[type="submit"]').click(),
    ]);
    expect(await page.locator("article.detail h1").textContent()).toContain(take.id);
    const cookies = await context.cookies(origin);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: "video_gen_session",
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      domain: "127.0.0.1",
    });
    expect(cookies[0]?.value).not.toContain(TOKEN);
    // The script cannot read it.
    expect(
      await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie),
    ).toBe("");
    // The page's own script polls the JSON API with the cookie.
    const apiStatus = await page.evaluate(async () => (await fetch("/api/generations?limit=1")).status);
    expect(apiStatus).toBe(200);
    await expectCleanPages(watched, [401]);
  });

  it("refuses an action POST without the CSRF token or from a foreign Origin; the right one reaches the actions", async () => {
    const { origin } = server("guarded");
    const actions = server("guarded").actions;
    const id = fixtures.live.id;
    const cookie = await signInCookie();
    const csrf = await csrfOf(origin, id, "cancel", cookie);
    const cancelUrl = `${origin}/gallery/g/${id}/cancel`;
    const callsBefore = actions.calls.length;

    const withoutToken = await formPost(cancelUrl, { reason: "no token" }, { cookie, origin });
    expect(withoutToken.status).toBe(403);
    expect(await withoutToken.text()).toContain("CSRF token");
    const wrongToken = await formPost(
      cancelUrl,
      { csrf: `${csrf}x`, reason: "wrong token" },
      { cookie, origin },
    );
    expect(wrongToken.status).toBe(403);
    const foreign = await formPost(
      cancelUrl,
      { csrf, reason: "foreign" },
      { cookie, origin: "http://evil.example" },
    );
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("cross-origin request refused");
    const foreignReferer = await formPost(
      cancelUrl,
      { csrf, reason: "foreign referer" },
      { cookie, referer: "http://evil.example/page" },
    );
    expect(foreignReferer.status).toBe(403);
    const noOrigin = await formPost(cancelUrl, { csrf, reason: "no origin" }, { cookie });
    expect(noOrigin.status).toBe(403);
    const noSession = await formPost(cancelUrl, { csrf, reason: "no session" }, { origin });
    expect(noSession.status).toBe(401);
    // A GET shows the confirm step and acts on nothing.
    expect((await fetch(cancelUrl, { headers: { cookie } })).status).toBe(200);
    expect(actions.calls.length).toBe(callsBefore);

    const accepted = await formPost(cancelUrl, { csrf, reason: "picked another take" }, { cookie, origin });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("location")).toBe(
      `/gallery/g/${id}?notice=${encodeURIComponent(`Canceled ${id} (recorded by the test).`)}`,
    );
    const replayCsrf = await csrfOf(origin, id, "replay", cookie);
    const replayed = await formPost(
      `${origin}/gallery/g/${id}/replay`,
      { csrf: replayCsrf, force: "1" },
      { cookie, origin },
    );
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get("location")).toMatch(new RegExp(`^/gallery/g/${id}-replay-1\\?notice=`));
    expect(actions.calls.slice(callsBefore)).toEqual([
      { kind: "cancel", generationId: id, reason: "picked another take" },
      { kind: "replay", generationId: id, force: true },
    ]);

    // The open loopback server asks for the token too (bound to no session), and the same Origin.
    const openServer = server("open");
    const openCancel = `${openServer.origin}/gallery/g/${id}/cancel`;
    const openCalls = openServer.actions.calls.length;
    expect((await formPost(openCancel, { reason: "x" }, { origin: openServer.origin })).status).toBe(403);
    const openCsrf = await csrfOf(openServer.origin, id, "cancel");
    expect((await formPost(openCancel, { csrf: openCsrf }, { origin: origin })).status).toBe(403);
    expect(openServer.actions.calls.length).toBe(openCalls);
    expect((await formPost(openCancel, { csrf: openCsrf }, { origin: openServer.origin })).status).toBe(303);
    expect(openServer.actions.calls.at(-1)).toEqual({
      kind: "cancel",
      generationId: id,
      reason: "canceled from the gallery",
    });
  });

  it("refuses a cross-origin form and a token-less fetch from the browser; the confirm button acts", async () => {
    const watched = await session();
    const { page } = watched;
    const { origin } = server("guarded");
    const actions = server("guarded").actions;
    const id = fixtures.live.id;
    const cancelUrl = `${origin}/gallery/g/${id}/cancel`;
    await signIn(page, `/gallery/g/${id}/cancel`);
    const csrf = await page.locator('form.confirm input[name="csrf"]').getAttribute("value");
    expect(csrf).toBeTruthy();
    const callsBefore = actions.calls.length;

    // Same origin, with the session cookie, but without the CSRF token.
    const scripted = await page.evaluate(async (url) => {
      const answer = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "reason=from+a+script",
      });
      return { status: answer.status, body: await answer.text() };
    }, cancelUrl);
    expect(scripted.status).toBe(403);
    expect(scripted.body).toContain("missing or stale CSRF token");

    // Another origin on the same host (same site, so the SameSite=Strict cookie goes along), even holding the token.
    const attacker = `http://127.0.0.1:${await findFreePort()}/attack.html`;
    await page.route(attacker, (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<form method="post" action="${cancelUrl}"><input name="csrf" value="${csrf}"><input name="reason" value="attack"></form><script>document.forms[0].submit()</script>`,
      }),
    );
    const [crossOrigin] = await Promise.all([
      page.waitForResponse((answer) => answer.url() === cancelUrl && answer.request().method() === "POST"),
      page.goto(attacker),
    ]);
    expect(crossOrigin.status()).toBe(403);
    expect((await crossOrigin.request().allHeaders()).cookie).toContain("video_gen_session=");
    expect(await crossOrigin.text()).toContain("cross-origin request refused");
    expect(actions.calls.length).toBe(callsBefore);

    await page.goto(cancelUrl);
    await Promise.all([
      page.waitForURL((url) => url.pathname === `/gallery/g/${id}` && url.searchParams.has("notice")),
      page.locator('form.confirm button[type="submit"]').click(),
    ]);
    expect(await page.locator(".notice-info").textContent()).toBe(`Canceled ${id} (recorded by the test).`);
    expect(actions.calls.slice(callsBefore)).toEqual([
      { kind: "cancel", generationId: id, reason: "canceled from the gallery" },
    ]);
    await expectCleanPages(watched, [403]);
  });

  it("refuses a foreign Host header with 421 (DNS rebinding)", async () => {
    for (const which of ["open", "guarded"] as const) {
      const { port } = server(which);
      for (const host of [REBOUND_HOST, `${REBOUND_HOST}:${port}`]) {
        const answer = await getWithHost(port, "/gallery", host);
        expect.soft(answer.status, `${which} ${host}`).toBe(421);
        expect.soft(answer.body, `${which} ${host}`).toContain("VIDEO_GEN_UI_HOSTS");
      }
      expect(
        (await getWithHost(port, `/media/${fixtures.shotTakes[0]?.id}/poster`, REBOUND_HOST)).status,
      ).toBe(421);
      expect((await getWithHost(port, "/gallery", `localhost:${port}`)).status).toBe(
        which === "open" ? 200 : 401,
      );
    }
    // The browser, with the rebound name resolving to 127.0.0.1, is refused too.
    const watched = await session();
    const answer = await watched.page.goto(`http://${REBOUND_HOST}:${server("open").port}/gallery`);
    expect(answer?.status()).toBe(421);
    expect(await watched.page.locator("li.card").count()).toBe(0);
    await expectCleanPages(watched, [421]);
  });

  it("answers a Range request with 206, the right Content-Range and the right bytes", async () => {
    const { origin } = server("open");
    const take = fixtures.shotTakes[2] as GalleryFixture;
    const bytes = take.stored?.bytes ?? Buffer.alloc(0);
    const url = `${origin}/media/${take.id}/video.mp4`;

    const middle = await fetch(url, { headers: { range: "bytes=100-1099" } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("content-range")).toBe(`bytes 100-1099/${bytes.length}`);
    expect(middle.headers.get("content-length")).toBe("1000");
    expect(middle.headers.get("content-type")).toBe("video/mp4");
    expect(middle.headers.get("accept-ranges")).toBe("bytes");
    expect(Buffer.from(await middle.arrayBuffer()).equals(bytes.subarray(100, 1100))).toBe(true);

    const tail = await fetch(url, { headers: { range: "bytes=-500" } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get("content-range")).toBe(
      `bytes ${bytes.length - 500}-${bytes.length - 1}/${bytes.length}`,
    );
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 500))).toBe(true);

    const open = await fetch(url, { headers: { range: `bytes=${bytes.length - 10}-` } });
    expect(open.status).toBe(206);
    expect(Buffer.from(await open.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);

    const past = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    await past.body?.cancel();

    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("puts no signed URL or server path in any page or JSON, sends the CSP, and logs no console error", async () => {
    const ids = fixtures.all.map((fixture) => fixture.id);
    const pages = [
      "/gallery",
      "/gallery?group=shot",
      "/gallery?limit=2",
      "/gallery?status=succeeded&q=sunset",
      ...ids.map((id) => `/gallery/g/${id}`),
      `/gallery/compare?correlation=${encodeURIComponent("shot=s1")}`,
      `/gallery/compare?${ids.map((id) => `id=${id}`).join("&")}`,
      `/gallery/g/${fixtures.live.id}/cancel`,
      `/gallery/g/${fixtures.signedUrlTake.id}/replay`,
      "/api/generations",
      "/api/generations?limit=2",
      ...ids.map((id) => `/api/generations/${id}`),
    ];
    const bodies: Array<{ url: string; contentType: string; csp: string; text: string }> = [];
    for (const which of ["open", "guarded"] as const) {
      const watched = await session();
      const { page } = watched;
      const { origin } = server(which);
      const visit = async (pathname: string, status: number) => {
        const answer = await page.goto(`${origin}${pathname}`);
        expect.soft(answer?.status(), `${which} ${pathname}`).toBe(status);
        if (!answer) return;
        const headers = await answer.allHeaders();
        bodies.push({
          url: answer.url(),
          contentType: headers["content-type"] ?? "",
          csp: headers["content-security-policy"] ?? "",
          text: await answer.text(),
        });
      };
      if (which === "guarded") {
        await visit("/gallery", 401);
        await visit("/gallery/login", 200);
        await signIn(page);
      }
      for (const pathname of pages) await visit(pathname, 200);
      await expectCleanPages(watched, which === "guarded" ? [401] : []);
    }
    expect(bodies.length).toBe(pages.length * 2 + 2);
    expect(new Set(bodies.map((body) => body.contentType.split(";")[0]))).toEqual(
      new Set(["text/html", "application/json"]),
    );
    for (const body of bodies) {
      for (const marker of [...SIGNED_URL_MARKERS, "file://", workDir]) {
        expect.soft(body.text.includes(marker), `${marker} in ${body.url}`).toBe(false);
      }
      if (body.contentType.startsWith("text/html")) {
        expect.soft(body.csp, body.url).toContain("default-src 'self'");
        expect.soft(body.csp, body.url).toContain("script-src 'self'");
      }
    }
    // The take whose record holds a signed URL is played through this server.
    const view = (await (
      await fetch(`${server("open").origin}/api/generations/${fixtures.signedUrlTake.id}`)
    ).json()) as {
      media: { video: string };
    };
    expect(view.media.video).toBe(`/media/${fixtures.signedUrlTake.id}/video.mp4`);
  });
});
