/**
 * A browser's view of the operator pages of one server, over real HTTP: signed in by the bearer token (what a
 * script sends) or by the login form's cookie (what a person gets), redirects not followed so each answer can be
 * checked. Used by the engine suites that drive Replay and Cancel as an operator would.
 */
export interface GallerySession {
  /** `http://127.0.0.1:<port>`: the server's origin, also what a page of it sends as `Origin`. */
  origin: string;
  /** GET `path` (below the origin) with the session's credentials. */
  get(path: string): Promise<Response>;
  /** The text of a page that must answer 200. */
  page(path: string): Promise<string>;
  /** The CSRF token of the confirm page of `action` on generation `id` (its hidden `csrf` input). */
  csrfFor(id: string, action: "replay" | "cancel"): Promise<string>;
  /** POSTs a form as the page's own form would (`Origin` this server unless `origin` says otherwise, `null`: none). */
  post(path: string, form: Record<string, string>, options?: { origin?: string | null }): Promise<Response>;
}

/** How a session proves itself: the operator token as a bearer header, or a cookie from the login form. */
export type GalleryCredentials = { bearer: string } | { cookie: string };

export function createGallerySession(origin: string, credentials: GalleryCredentials): GallerySession {
  const authorization: Record<string, string> =
    "bearer" in credentials
      ? { authorization: `Bearer ${credentials.bearer}` }
      : { cookie: credentials.cookie };
  const session: GallerySession = {
    origin,
    get: (path) =>
      fetch(`${origin}${path}`, {
        headers: authorization,
        redirect: "manual",
        signal: AbortSignal.timeout(30_000),
      }),
    async page(path) {
      const response = await session.get(path);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 500)}`);
      return text;
    },
    async csrfFor(id, action) {
      const text = await session.page(`/gallery/g/${encodeURIComponent(id)}/${action}`);
      const token = /<input type="hidden" name="csrf" value="([^"]+)">/.exec(text)?.[1];
      if (!token) throw new Error(`no csrf input on the ${action} confirm page of ${id}`);
      return token;
    },
    post(path, form, options = {}) {
      const sentOrigin = options.origin === undefined ? origin : options.origin;
      return fetch(`${origin}${path}`, {
        method: "POST",
        headers: {
          ...authorization,
          "content-type": "application/x-www-form-urlencoded",
          ...(sentOrigin === null ? {} : { origin: sentOrigin }),
        },
        body: new URLSearchParams(form).toString(),
        redirect: "manual",
        signal: AbortSignal.timeout(60_000),
      });
    },
  };
  return session;
}

/**
 * Signs in through the login form (POST `/gallery/login` with the token, from this server's own page) and returns
 * the session cookie it set, as `name=value` for a `Cookie` header.
 */
export async function signIn(origin: string, token: string): Promise<string> {
  const response = await fetch(`${origin}/gallery/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ token, next: "/gallery" }).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(30_000),
  });
  const cookie = response.headers.getSetCookie()[0];
  if (response.status !== 303 || !cookie) {
    throw new Error(`sign-in answered ${response.status} without a session cookie`);
  }
  if (!/HttpOnly/i.test(cookie) || !/SameSite=Strict/i.test(cookie)) {
    throw new Error(
      `the session cookie is not HttpOnly and SameSite=Strict: ${cookie.split(";").slice(1).join(";")}`,
    );
  }
  return cookie.split(";")[0] ?? "";
}

/** The text of the page's notice (an action's outcome), unescaped, or undefined. */
export function noticeOf(page: string): { kind: string; text: string } | undefined {
  const match = /<p class="notice notice-(info|error)" role="status">([\s\S]*?)<\/p>/.exec(page);
  if (!match) return undefined;
  return { kind: match[1] ?? "", text: unescapeHtml(match[2] ?? "") };
}

/** Undoes the page's escaping of `& < > " '`, so a message can be compared with what the server meant. */
export function unescapeHtml(text: string): string {
  return text
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");
}
