import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, StorageError } from "../../src/errors/index.ts";
import { createSafeFetcher, fetchBytes } from "../../src/net/safe-fetch.ts";
import { createUrlGuard } from "../../src/net/url-guard.ts";
import { startHttpFileServer, type TestHttpServer } from "../helpers/http-file-server.ts";

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const payload = Buffer.alloc(300_000, 7);
const big = Buffer.alloc(8 * 1024 * 1024, 3);

describe("createSafeFetcher", () => {
  let allowed: TestHttpServer;
  let forbidden: TestHttpServer;

  beforeAll(async () => {
    forbidden = await startHttpFileServer({ "/secret": { bytes: Buffer.from("internal") } });
    allowed = await startHttpFileServer({
      "/file": { bytes: payload },
      "/hop1": { redirectTo: "/hop2" },
      "/hop2": { redirectTo: "/file", status: 307 },
      "/to-private": { redirectTo: forbidden.url("/secret") },
      "/to-file-scheme": { redirectTo: "file:///etc/passwd" },
      "/loop": { redirectTo: "/loop" },
      "/missing": { status: 404, bytes: Buffer.from("gone") },
      "/expired": { status: 403, bytes: Buffer.from("expired") },
      "/broken": { status: 503, bytes: Buffer.from("down") },
      "/short": { bytes: payload, declaredLength: payload.byteLength + 1000 },
      "/reset": { bytes: payload, resetAfterBytes: 100_000 },
      "/chunked": { stream: () => Readable.from([payload, payload]), omitLength: true },
      "/slow-headers": { bytes: payload, delayMs: 2_000 },
      "/close-after": { bytes: big, declaredLength: big.byteLength },
    });
  });

  afterAll(async () => {
    await allowed.close();
    await forbidden.close();
  });

  function fetcher(options: { maxBytes?: number; headersTimeoutMs?: number; maxRedirects?: number } = {}) {
    return createSafeFetcher({
      guard: createUrlGuard({ allowHosts: [`127.0.0.1:${allowed.port}`] }),
      maxBytes: options.maxBytes ?? 10_000_000,
      ...(options.headersTimeoutMs ? { headersTimeoutMs: options.headersTimeoutMs } : {}),
      ...(options.maxRedirects !== undefined ? { maxRedirects: options.maxRedirects } : {}),
    });
  }

  it("downloads an allowed URL with its length and type", async () => {
    const opened = await fetcher().open(allowed.url("/file"));
    expect(opened.contentLength).toBe(payload.byteLength);
    expect(opened.contentType).toBe("video/mp4");
    expect((await readAll(opened.body)).equals(payload)).toBe(true);
  });

  it("follows redirects on the allowed host and reports the final URL", async () => {
    const opened = await fetcher().open(allowed.url("/hop1"));
    expect(opened.finalUrl).toBe(allowed.url("/file"));
    expect(
      createHash("sha256")
        .update(await readAll(opened.body))
        .digest("hex"),
    ).toBe(createHash("sha256").update(payload).digest("hex"));
  });

  it("re-checks every hop: a redirect from an allowed host to a private one is refused", async () => {
    const before = forbidden.requests.length;
    await expect(fetcher().open(allowed.url("/to-private"))).rejects.toMatchObject({
      name: "StorageError",
      code: "url_refused",
      message: expect.stringMatching(/loopback/),
    });
    expect(forbidden.requests.length).toBe(before);
  });

  it("refuses a redirect to another scheme, as an InputError for a request field", async () => {
    const error = await fetcher()
      .open(allowed.url("/to-file-scheme"), { subject: { field: "reference_image" } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/reference_image: .*only http and https/);
  });

  it("stops after maxRedirects", async () => {
    await expect(fetcher({ maxRedirects: 3 }).open(allowed.url("/loop"))).rejects.toMatchObject({
      code: "too_many_redirects",
      retryable: false,
    });
  });

  it.each([
    ["/missing", 404],
    ["/expired", 403],
  ])("treats %s (HTTP %i) as an expired or missing URL, not retryable", async (path, status) => {
    const error = await fetcher()
      .open(allowed.url(path))
      .catch((e) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: "download_gone", retryable: false });
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it("treats a 5xx as retryable", async () => {
    await expect(fetcher().open(allowed.url("/broken"))).rejects.toMatchObject({
      code: "download_http_error",
      retryable: true,
    });
  });

  it("refuses a declared Content-Length over the cap before reading", async () => {
    await expect(fetcher({ maxBytes: 1000 }).open(allowed.url("/file"))).rejects.toMatchObject({
      code: "too_large",
      retryable: false,
    });
  });

  it("errors the body past the cap when no length is declared", async () => {
    const opened = await fetcher({ maxBytes: 400_000 }).open(allowed.url("/chunked"));
    expect(opened.contentLength).toBeUndefined();
    await expect(readAll(opened.body)).rejects.toMatchObject({ code: "too_large" });
  });

  it("errors the body when fewer bytes than Content-Length arrive", async () => {
    const opened = await fetcher().open(allowed.url("/short"));
    await expect(readAll(opened.body)).rejects.toMatchObject({ name: "StorageError", retryable: true });
  });

  it("errors the body when the connection resets midway", async () => {
    const opened = await fetcher().open(allowed.url("/reset"));
    await expect(readAll(opened.body)).rejects.toMatchObject({ name: "StorageError", retryable: true });
  });

  it("times out waiting for headers, retryably", async () => {
    await expect(fetcher({ headersTimeoutMs: 300 }).open(allowed.url("/slow-headers"))).rejects.toMatchObject(
      {
        code: "download_failed",
        retryable: true,
      },
    );
  });

  it("stops on abort", async () => {
    const controller = new AbortController();
    const pending = fetcher().open(allowed.url("/slow-headers"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: "aborted", retryable: false });
  });

  it("pins the connection: an address that changed to loopback after the check is refused at connect time", async () => {
    // The check sees a public address; the connect-time lookup of `localhost` yields 127.0.0.1 (DNS rebinding).
    const rebinding = createSafeFetcher({
      guard: createUrlGuard({ resolve: async () => ["93.184.215.14"] }),
      maxBytes: 1_000_000,
    });
    const before = allowed.requests.length;
    await expect(rebinding.open(`http://localhost:${allowed.port}/file`)).rejects.toMatchObject({
      code: "url_refused",
      message: expect.stringMatching(/loopback/),
    });
    expect(allowed.requests.length).toBe(before);
  });

  it("survives the server closing the connection while the body is paused (undici 7 crashed here)", async () => {
    const opened = await fetcher({ maxBytes: 100_000_000 }).open(allowed.url("/close-after"));
    // Not reading lets backpressure pause the parser while the server sends everything and closes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await readAll(opened.body)).equals(big)).toBe(true);
  });

  it("fetchBytes reads a small body with its content type", async () => {
    const result = await fetchBytes(fetcher(), allowed.url("/file"), { maxBytes: 1_000_000 });
    expect(Buffer.from(result.bytes).equals(payload)).toBe(true);
    expect(result.contentType).toBe("video/mp4");
  });

  it("fetchBytes enforces its own cap", async () => {
    await expect(fetchBytes(fetcher(), allowed.url("/file"), { maxBytes: 1000 })).rejects.toMatchObject({
      code: "too_large",
    });
  });
});
