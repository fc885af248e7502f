import { html, type SafeHtml } from "./html-template.ts";

/** What every page shares: the mount prefix and the optional notice at the top. */
export interface PageFrame {
  /** Mount prefix of the operator routes, e.g. "" or "/ops". */
  basePath: string;
  title: string;
  body: SafeHtml;
  /** A notice shown above the content (e.g. the embedded database busy, or an action's outcome). */
  notice?: { kind: "info" | "error"; text: string };
  /** For pages with generations in flight: reload without the script every so often (the script updates in place). */
  refreshWithoutScriptSeconds?: number;
  /** Whether a sign-out button is shown (a session cookie is in use). */
  signedIn?: boolean;
  csrf?: string;
}

export function renderPage(frame: PageFrame): string {
  const base = frame.basePath;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} · video.generate</title>
<link rel="icon" href="${base}/gallery/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${base}/gallery/assets/gallery.css">
<script src="${base}/gallery/assets/gallery.js" defer></script>
${frame.refreshWithoutScriptSeconds ? html`<noscript><meta http-equiv="refresh" content="${frame.refreshWithoutScriptSeconds}"></noscript>` : ""}
</head>
<body data-base-path="${base}">
<header class="top">
  <a class="brand" href="${base}/gallery">video.generate</a>
  <nav><a href="${base}/gallery">Generations</a> <a href="${base}/api/generations">JSON</a></nav>
  ${
    frame.signedIn && frame.csrf
      ? html`<form method="post" action="${base}/gallery/logout" class="logout"><input type="hidden" name="csrf" value="${frame.csrf}"><button type="submit">Sign out</button></form>`
      : ""
  }
</header>
<main>
${frame.notice ? html`<p class="notice notice-${frame.notice.kind}" role="status">${frame.notice.text}</p>` : ""}
${frame.body}
</main>
</body>
</html>
`;
  return page.value;
}
