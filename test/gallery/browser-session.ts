import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium: it plays H.264, which Playwright's own Chromium builds do not (and they cannot be downloaded here). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** A host name the browser resolves to 127.0.0.1, as a DNS-rebinding attacker's name would. */
export const REBOUND_HOST = "evil.example";

/** Launches Debian's Chromium headless (as root it needs `--no-sandbox`). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      `--host-resolver-rules=MAP ${REBOUND_HOST} 127.0.0.1`,
    ],
  });
}

/** A browser context whose pages are watched: console errors and CSP violations. */
export interface WatchedContext {
  context: BrowserContext;
  page: Page;
  /** `console.error` messages and uncaught page errors, of every page of the context. */
  consoleErrors: string[];
  /** Content-Security-Policy violations reported by the documents (`securitypolicyviolation` events). */
  cspViolations: string[];
  close(): Promise<void>;
}

/** Opens a new context (no cookies) with one page, 1280×900, watched. */
export async function openWatchedContext(browser: Browser): Promise<WatchedContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const consoleErrors: string[] = [];
  const cspViolations: string[] = [];
  await context.exposeFunction("__reportCspViolation", (text: string) => {
    cspViolations.push(text);
  });
  // Runs in every document before its own scripts; a string, because the test's type check has no DOM library.
  await context.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (event) => {
      window.__reportCspViolation(event.violatedDirective + " blocked " + event.blockedURI + " in " + event.documentURI);
    });`,
  });
  context.on("console", (message) => {
    if (message.type() !== "error") return;
    // For a failed load, the location is the resource's URL.
    consoleErrors.push(`${message.page()?.url() ?? "?"}: ${message.text()} [${message.location().url}]`);
  });
  context.on("weberror", (error) => consoleErrors.push(`uncaught: ${error.error().message}`));
  const page = await context.newPage();
  return {
    context,
    page,
    consoleErrors,
    cspViolations,
    close: () => context.close(),
  };
}

/**
 * The console errors left after taking out the "Failed to load resource" lines of the statuses a test provoked on
 * purpose (Chromium logs a 401 or 403 it was answered; a page that works logs nothing), and the 404 of the
 * `/favicon.ico` Chromium asks every new host for: that path is the host server's, not the gallery's.
 */
export function unexpectedConsoleErrors(watched: WatchedContext, provoked: number[] = []): string[] {
  return watched.consoleErrors.filter((text) => {
    const status = /Failed to load resource: the server responded with a status of (\d{3})/.exec(text)?.[1];
    if (status === "404" && /\/favicon\.ico\]$/.test(text)) return false;
    return status === undefined || !provoked.includes(Number(status));
  });
}
