import { readFile } from "node:fs/promises";
import { isVideoGenerationError } from "../errors/video-generation-error.ts";
import { estimateRenderMs } from "../functions/render-estimate.ts";
import type { GenerationQueries, GenerationTotals } from "../metadata/generation-queries.ts";
import { parseGenerationQuery } from "../metadata/generation-query-params.ts";
import type { GenerationRecord } from "../metadata/generation-record.ts";
import { videoKeyOfRecord } from "../metadata/media-keys.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { safeEqual } from "../net/safe-equal.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { checkAccess, checkCsrf, checkSameOrigin, type GalleryAccessOptions } from "./gallery-access.ts";
import { type GalleryActions, InngestUnreachableError } from "./gallery-actions.ts";
import { renderCompareBody } from "./gallery-compare-page.ts";
import { renderAwaitingBody, renderDetailBody } from "./gallery-detail-page.ts";
import { renderConfirmBody, renderLoginBody } from "./gallery-forms.ts";
import { renderListBody } from "./gallery-list-page.ts";
import { serveStoredObject } from "./gallery-media.ts";
import { createGallerySigner, SESSION_COOKIE } from "./gallery-security.ts";
import { estimateProgress, requestedRender } from "./generation-progress.ts";
import { type GenerationView, toGenerationView } from "./generation-view.ts";
import { html } from "./html-template.ts";
import { type PageFrame, renderPage } from "./page-layout.ts";

/** Everything the operator routes need, injected (the composition root, `video-gen ui` or a host app builds it). */
export interface OperatorHandlerOptions {
  /** Mount prefix, e.g. `/ops`: routes are `<prefix>/gallery`, `<prefix>/api/generations`, `<prefix>/media/…`, `<prefix>/metrics`. Default "". */
  basePath?: string;
  metadataStore: Pick<MetadataStore, "get" | "recentRenders">;
  queries: GenerationQueries;
  objectStore: Pick<ObjectStore, "stat" | "openRead">;
  access: GalleryAccessOptions;
  /** The `/metrics` handler (behind the same access check); absent: no `/metrics` route. */
  metrics?: (request: Request) => Promise<Response>;
  /** Replay and Cancel; absent: the detail page says why they are off ({@link actionsDisabledReason}). */
  actions?: GalleryActions;
  actionsDisabledReason?: string;
  /** VIDEO_GEN_RENDER_ESTIMATE_S, for the progress estimate (as the poll schedule uses it). */
  renderEstimateSeconds?: number;
  now?: () => Date;
  /** Told about unexpected errors (answered 500 without details). */
  onError?: (error: unknown) => void;
}

/** Answers the operator routes; resolves undefined for any other path, so the host can route it elsewhere. */
export type OperatorHandler = (request: Request) => Promise<Response | undefined>;

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};
const PRIVATE = { ...SECURITY_HEADERS, "cache-control": "no-store" };
const ASSETS: Record<string, string> = {
  "favicon.svg": "image/svg+xml",
  "gallery.js": "text/javascript; charset=utf-8",
  "gallery.css": "text/css; charset=utf-8",
};
/** In-flight generations' pages reload this often without the script (the script updates them in place). */
const NO_SCRIPT_REFRESH_S = 10;
const COMPARE_MAX = 12;
/** A generation just sent, whose run has not written its record yet, is looked for this often without the script. */
const AWAITING_REFRESH_S = 3;
const SESSION_MAX_AGE_S = 7 * 86_400;

export function createOperatorHandler(options: OperatorHandlerOptions): OperatorHandler {
  const basePath = (options.basePath ?? "").replace(/\/+$/, "");
  const signer = createGallerySigner(options.access.token);
  const now = options.now ?? (() => new Date());
  const assetCache = new Map<string, string>();

  return async (request) => {
    const url = new URL(request.url);
    if (basePath && !url.pathname.startsWith(`${basePath}/`)) return undefined;
    const path = url.pathname.slice(basePath.length);
    const route = routeOf(path);
    if (!route) return undefined;

    try {
      if (route.kind === "asset") return await asset(route.name);
      const access = checkAccess(request, options.access, signer);
      // The sign-in form is the way past a 401; a server that is off or a foreign Host gets no form.
      if (route.kind === "login" && (access.allowed || access.status === 401)) {
        return await login(request, url, access.allowed);
      }
      if (!access.allowed) return denied(route.kind, access.status, access.reason, url);
      const session = access.session;
      const signedIn = session !== "" && session !== "bearer";
      const csrf = signer.csrfToken(session);
      const frame = (title: string, body: PageFrame["body"], extra: Partial<PageFrame> = {}) =>
        htmlResponse(200, renderPage({ basePath, title, body, signedIn, csrf, ...extra }));

      switch (route.kind) {
        case "metrics":
          return options.metrics ? withHeaders(await options.metrics(request), PRIVATE) : undefined;
        case "logout":
          if (request.method !== "POST") return methodNotAllowed("POST");
          return await logout(request, session);
        case "media":
          return await media(request, route.id, route.file);
        case "api-list":
        case "list": {
          const parsed = parseGenerationQuery(url.searchParams);
          const [page, totals] = await Promise.all([
            options.queries.page(parsed.query, { cursor: parsed.cursor, limit: parsed.limit }),
            options.queries.totals(parsed.query),
          ]);
          const views = await toViews(page.records);
          if (route.kind === "api-list") {
            return json(200, {
              generations: views,
              next_cursor: page.nextCursor,
              totals: totalsJson(totals),
            });
          }
          const groups = parsed.groupKey
            ? {
                key: parsed.groupKey,
                rows: await options.queries.groups({ ...parsed.query, groupKey: parsed.groupKey }),
              }
            : undefined;
          const live = views.some((view) => view.progress !== null);
          return frame(
            "Generations",
            renderListBody({
              basePath,
              params: url.searchParams,
              generations: views,
              totals,
              nextCursor: page.nextCursor,
              groups,
            }),
            live ? { refreshWithoutScriptSeconds: NO_SCRIPT_REFRESH_S } : {},
          );
        }
        case "api-one":
        case "detail": {
          const record = await options.metadataStore.get(route.id);
          // Just sent by Replay: the browser follows the redirect before the new run has written its record.
          if (!record && route.kind === "detail" && url.searchParams.has("notice")) {
            return frame(route.id, renderAwaitingBody(route.id), {
              notice: noticeOf(url),
              refreshWithoutScriptSeconds: AWAITING_REFRESH_S,
            });
          }
          if (!record) return notFound(route.kind, `no generation ${route.id}`);
          const [view] = await toViews([record]);
          if (!view) return notFound(route.kind, `no generation ${route.id}`);
          if (route.kind === "api-one") return json(200, view);
          const notice = noticeOf(url);
          return frame(
            route.id,
            renderDetailBody({
              basePath,
              view,
              actionsEnabled: options.actions !== undefined,
              actionsDisabledReason:
                options.actionsDisabledReason ??
                "Replay and Cancel are off (set VIDEO_GEN_UI_ACTIONS=1 to enable them).",
            }),
            { ...(view.progress ? { refreshWithoutScriptSeconds: NO_SCRIPT_REFRESH_S } : {}), notice },
          );
        }
        case "compare": {
          const parsed = parseGenerationQuery(url.searchParams);
          const chosen = parsed.query.ids && parsed.query.ids.length > 0;
          if (!chosen && !parsed.query.correlation) {
            return frame("Compare", renderCompareBody({ basePath, views: [], subject: "" }));
          }
          const page = await options.queries.page(parsed.query, { limit: COMPARE_MAX });
          // Oldest take first: a shot's takes read left to right in the order they were made.
          const views = (await toViews(page.records)).reverse();
          const subject = chosen
            ? "chosen set"
            : `${parsed.query.correlation?.key}${parsed.query.correlation?.value !== undefined ? `=${parsed.query.correlation.value}` : ""}`;
          return frame("Compare", renderCompareBody({ basePath, views, subject }));
        }
        case "action":
          return await action(request, route.id, route.action, session, csrf, signedIn);
      }
    } catch (error) {
      return failure(route.kind, error);
    }
  };

  async function toViews(records: GenerationRecord[]): Promise<GenerationView[]> {
    const inFlight = records.filter((record) => !["succeeded", "failed", "canceled"].includes(record.status));
    const queue =
      inFlight.length > 0
        ? await options.queries.queuePositions(inFlight.map((r) => r.generationId))
        : new Map();
    const recentByResolution = new Map<
      string,
      Awaited<ReturnType<typeof options.metadataStore.recentRenders>>
    >();
    const views: GenerationView[] = [];
    for (const record of records) {
      let progress = null;
      if (inFlight.includes(record)) {
        const { resolution, duration } = requestedRender(record.request);
        let recent = recentByResolution.get(resolution);
        if (!recent) {
          recent = await options.metadataStore.recentRenders({ resolution, limit: 20 });
          recentByResolution.set(resolution, recent);
        }
        const estimate = estimateRenderMs({
          duration,
          resolution,
          seedSeconds: options.renderEstimateSeconds,
          recent,
        });
        progress = estimateProgress({
          record,
          expectedRenderMs: estimate.expectedMs,
          queue: queue.get(record.generationId),
          now: now(),
        });
      }
      views.push(
        toGenerationView({
          record,
          basePath,
          progress,
          hasVideo: storedVideoKey(record) !== null,
          hasPoster: record.posterKey !== null,
          hasImage: record.imageKey !== null,
        }),
      );
    }
    return views;
  }

  async function media(request: Request, id: string, file: string): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed("GET, HEAD");
    const record = await options.metadataStore.get(id);
    const key = !record
      ? null
      : file === "video.mp4"
        ? storedVideoKey(record)
        : file === "poster"
          ? record.posterKey
          : record.imageKey;
    if (!key) return json(404, { error: `no ${file} for generation ${id}` });
    return serveStoredObject(request, options.objectStore, key, SECURITY_HEADERS);
  }

  async function action(
    request: Request,
    id: string,
    kind: "replay" | "cancel",
    session: string,
    csrf: string,
    signedIn: boolean,
  ): Promise<Response> {
    const record = await options.metadataStore.get(id);
    if (!record) return notFound("detail", `no generation ${id}`);
    const detail = `${basePath}/gallery/g/${encodeURIComponent(id)}`;
    if (!options.actions)
      return redirect(`${detail}?notice=${encodeURIComponent("Replay and Cancel are off.")}`);
    if (request.method === "GET") {
      const [view] = await toViews([record]);
      if (!view) return notFound("detail", `no generation ${id}`);
      return htmlResponse(
        200,
        renderPage({
          basePath,
          title: `${kind} ${id}`,
          body: renderConfirmBody({ basePath, view, action: kind, csrf }),
          signedIn,
          csrf,
        }),
      );
    }
    if (request.method !== "POST") return methodNotAllowed("GET, POST");
    const form = await readForm(request);
    const verdict = checkCsrf(request, form, session, signer);
    if (!verdict.ok)
      return htmlResponse(
        403,
        renderPage({ basePath, title: "Refused", body: html`<p>${verdict.reason}</p>`, signedIn, csrf }),
      );
    try {
      if (kind === "replay") {
        const replayed = await options.actions.replay(id, { force: form.get("force") === "1" });
        const text = `Replay sent as ${replayed.generationId}.${replayed.note ? ` ${replayed.note}` : ""}`;
        return redirect(
          `${basePath}/gallery/g/${encodeURIComponent(replayed.generationId)}?notice=${encodeURIComponent(text)}`,
        );
      }
      const reason = (form.get("reason") ?? "").trim().slice(0, 200) || "canceled from the gallery";
      const canceled = await options.actions.cancel(id, reason);
      return redirect(`${detail}?notice=${encodeURIComponent(canceled.message)}`);
    } catch (error) {
      if (error instanceof InngestUnreachableError || isVideoGenerationError(error)) {
        return redirect(`${detail}?error=${encodeURIComponent(error.message)}`);
      }
      throw error;
    }
  }

  async function login(request: Request, url: URL, alreadyAllowed: boolean): Promise<Response> {
    const next = safeNext(url.searchParams.get("next"));
    if (request.method === "GET") {
      if (alreadyAllowed) return redirect(next);
      return htmlResponse(
        200,
        renderPage({ basePath, title: "Sign in", body: renderLoginBody({ basePath, next, failed: false }) }),
      );
    }
    if (request.method !== "POST") return methodNotAllowed("GET, POST");
    const form = await readForm(request);
    const token = options.access.token;
    const target = safeNext(form.get("next"));
    const originCheck = checkSameOrigin(request);
    if (!originCheck.ok)
      return htmlResponse(
        403,
        renderPage({ basePath, title: "Refused", body: html`<p>${originCheck.reason}</p>` }),
      );
    if (!token || !safeEqual(form.get("token") ?? "", token)) {
      return htmlResponse(
        401,
        renderPage({
          basePath,
          title: "Sign in",
          body: renderLoginBody({ basePath, next: target, failed: true }),
        }),
      );
    }
    const secure = isHttps(request) ? "; Secure" : "";
    return new Response(null, {
      status: 303,
      headers: {
        ...PRIVATE,
        location: target,
        "set-cookie": `${SESSION_COOKIE}=${signer.sessionValue()}; Path=${basePath || "/"}; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`,
      },
    });
  }

  async function logout(request: Request, session: string): Promise<Response> {
    const form = await readForm(request);
    const verdict = checkCsrf(request, form, session, signer);
    if (!verdict.ok)
      return htmlResponse(
        403,
        renderPage({ basePath, title: "Refused", body: html`<p>${verdict.reason}</p>` }),
      );
    return new Response(null, {
      status: 303,
      headers: {
        ...PRIVATE,
        location: `${basePath}/gallery/login`,
        "set-cookie": `${SESSION_COOKIE}=; Path=${basePath || "/"}; HttpOnly; SameSite=Strict; Max-Age=0`,
      },
    });
  }

  async function asset(name: string): Promise<Response> {
    const contentType = ASSETS[name];
    if (!contentType) return json(404, { error: "no such asset" });
    let body = assetCache.get(name);
    if (body === undefined) {
      body = await readFile(new URL(`./assets/${name}`, import.meta.url), "utf8");
      assetCache.set(name, body);
    }
    return new Response(body, {
      status: 200,
      headers: { ...SECURITY_HEADERS, "content-type": contentType, "cache-control": "no-cache" },
    });
  }

  function denied(kind: RouteKind, status: 401 | 403 | 421, reason: string, url: URL): Response {
    if (status === 401 && isPage(kind)) {
      const next = safeNext(`${url.pathname}${url.search}`);
      return htmlResponse(
        401,
        renderPage({ basePath, title: "Sign in", body: renderLoginBody({ basePath, next, failed: false }) }),
      );
    }
    const headers: Record<string, string> =
      status === 401 ? { "www-authenticate": 'Bearer realm="video-gen"' } : {};
    return withHeaders(json(status, { error: reason }), headers);
  }

  function notFound(kind: RouteKind, message: string): Response {
    return isPage(kind)
      ? htmlResponse(404, renderPage({ basePath, title: "Not found", body: html`<p>${message}</p>` }))
      : json(404, { error: message });
  }

  function failure(kind: RouteKind, error: unknown): Response {
    const known = isVideoGenerationError(error);
    const status = known ? (error.category === "input" ? 400 : error.retryable ? 503 : 500) : 500;
    if (!known || status === 500) options.onError?.(error);
    const message = known ? error.message : "unexpected error; see the server log";
    const headers: Record<string, string> = status === 503 ? { "retry-after": "5" } : {};
    if (isPage(kind)) {
      return withHeaders(
        htmlResponse(
          status,
          renderPage({
            basePath,
            title: "Error",
            body: html`<p><a href="${basePath}/gallery">Back to the gallery</a></p>`,
            notice: { kind: "error", text: message },
          }),
        ),
        headers,
      );
    }
    return withHeaders(json(status, { error: message, ...(known ? { code: error.code } : {}) }), headers);
  }

  function safeNext(next: string | null): string {
    const fallback = `${basePath}/gallery`;
    // Only a path of these pages: never another host (`//evil`), never a backslash some browsers read as a slash.
    const local = next?.startsWith(`${basePath}/`) && !next.startsWith("//") && !next.includes("\\");
    return local && next ? next : fallback;
  }
}

type RouteKind = NonNullable<ReturnType<typeof routeOf>>["kind"];

/** Maps a path below the mount prefix to a route. */
function routeOf(path: string) {
  if (path === "/gallery" || path === "/gallery/") return { kind: "list" } as const;
  if (path === "/gallery/login") return { kind: "login" } as const;
  if (path === "/gallery/logout") return { kind: "logout" } as const;
  if (path === "/gallery/compare") return { kind: "compare" } as const;
  if (path === "/metrics") return { kind: "metrics" } as const;
  if (path === "/api/generations") return { kind: "api-list" } as const;
  const assetMatch = /^\/gallery\/assets\/([a-z.-]+)$/.exec(path);
  if (assetMatch) return { kind: "asset", name: assetMatch[1] ?? "" } as const;
  const action = /^\/gallery\/g\/([^/]+)\/(replay|cancel)$/.exec(path);
  if (action)
    return { kind: "action", id: decode(action[1]), action: action[2] as "replay" | "cancel" } as const;
  const detail = /^\/gallery\/g\/([^/]+)$/.exec(path);
  if (detail) return { kind: "detail", id: decode(detail[1]) } as const;
  const one = /^\/api\/generations\/([^/]+)$/.exec(path);
  if (one) return { kind: "api-one", id: decode(one[1]) } as const;
  const mediaMatch = /^\/media\/([^/]+)\/(video\.mp4|poster|image)$/.exec(path);
  if (mediaMatch) return { kind: "media", id: decode(mediaMatch[1]), file: mediaMatch[2] ?? "" } as const;
  return undefined;
}

/** The video of a succeeded generation (a failed rerun may keep an earlier result it could not copy). */
function storedVideoKey(record: GenerationRecord): string | null {
  return record.status === "succeeded" ? videoKeyOfRecord(record) : null;
}

function decode(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    return segment ?? "";
  }
}

function isPage(kind: RouteKind): boolean {
  return (
    kind === "list" ||
    kind === "detail" ||
    kind === "compare" ||
    kind === "action" ||
    kind === "login" ||
    kind === "logout"
  );
}

function noticeOf(url: URL): PageFrame["notice"] {
  const error = url.searchParams.get("error");
  if (error) return { kind: "error", text: error.slice(0, 500) };
  const notice = url.searchParams.get("notice");
  return notice ? { kind: "info", text: notice.slice(0, 500) } : undefined;
}

function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
}

async function readForm(request: Request): Promise<URLSearchParams> {
  const text = (await request.text()).slice(0, 16_384);
  return new URLSearchParams(text);
}

/** The totals as the JSON API spells its fields (snake_case, like the generations). */
function totalsJson(totals: GenerationTotals) {
  return {
    count: totals.count,
    by_status: totals.byStatus,
    succeeded: totals.succeeded,
    failed: totals.failed,
    canceled: totals.canceled,
    video_seconds: totals.videoSeconds,
    cost: totals.cost,
  };
}

function htmlResponse(status: number, body: string): Response {
  return new Response(body, { status, headers: { ...PRIVATE, "content-type": "text/html; charset=utf-8" } });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...PRIVATE, "content-type": "application/json; charset=utf-8" },
  });
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { ...PRIVATE, location } });
}

function methodNotAllowed(allow: string): Response {
  return withHeaders(json(405, { error: `method not allowed; use ${allow}` }), { allow });
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) {
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  return response;
}
