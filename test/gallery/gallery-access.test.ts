import { describe, expect, it } from "vitest";
import { checkAccess, checkCsrf, galleryAvailability } from "../../src/gallery/gallery-access.ts";
import { createGallerySigner, SESSION_COOKIE } from "../../src/gallery/gallery-security.ts";

const TOKEN = "operator-token-0123456789abcdef";

function request(url: string, headers: Record<string, string> = {}): Request {
  return new Request(url, { headers: { host: new URL(url).host, ...headers } });
}

describe("who may see the operator pages", () => {
  const signer = createGallerySigner(TOKEN);
  const loopbackWithToken = { token: TOKEN, loopbackOnly: true, allowedHosts: [] };

  it("is off beyond loopback without a token, and says which variable turns it on", () => {
    const options = { token: undefined, loopbackOnly: false, allowedHosts: [] };
    expect(galleryAvailability(options).enabled).toBe(false);
    const decision = checkAccess(
      request("http://10.0.0.5:3000/gallery"),
      options,
      createGallerySigner(undefined),
    );
    expect(decision).toMatchObject({ allowed: false, status: 403 });
    expect(decision.allowed === false && decision.reason).toContain("VIDEO_GEN_UI_TOKEN");
  });

  it("is open on loopback without a token, to loopback Host names only (DNS rebinding)", () => {
    const options = { token: undefined, loopbackOnly: true, allowedHosts: [] };
    const signerless = createGallerySigner(undefined);
    expect(checkAccess(request("http://127.0.0.1:3000/gallery"), options, signerless)).toEqual({
      allowed: true,
      session: "",
    });
    expect(checkAccess(request("http://localhost:3000/gallery"), options, signerless).allowed).toBe(true);
    expect(checkAccess(request("http://[::1]:3000/gallery"), options, signerless).allowed).toBe(true);
    const rebound = checkAccess(
      new Request("http://127.0.0.1:3000/gallery", { headers: { host: "attacker.example:3000" } }),
      options,
      signerless,
    );
    expect(rebound).toMatchObject({ allowed: false, status: 421 });
  });

  it("accepts a proxy's name only when it is listed", () => {
    const options = { ...loopbackWithToken, allowedHosts: ["videos.example.com"] };
    const via = (host: string) =>
      checkAccess(
        new Request("http://127.0.0.1/gallery", { headers: { host, authorization: `Bearer ${TOKEN}` } }),
        options,
        signer,
      );
    expect(via("videos.example.com").allowed).toBe(true);
    expect(via("other.example.com")).toMatchObject({ allowed: false, status: 421 });
  });

  it("wants the token as a bearer or a signed session cookie", () => {
    const url = "http://127.0.0.1:3000/api/generations";
    expect(checkAccess(request(url), loopbackWithToken, signer)).toMatchObject({
      allowed: false,
      status: 401,
    });
    expect(
      checkAccess(request(url, { authorization: `Bearer ${TOKEN}x` }), loopbackWithToken, signer),
    ).toMatchObject({ allowed: false, status: 401 });
    expect(
      checkAccess(request(url, { authorization: `Bearer ${TOKEN}` }), loopbackWithToken, signer),
    ).toEqual({
      allowed: true,
      session: "bearer",
    });
    const cookie = `${SESSION_COOKIE}=${signer.sessionValue()}`;
    expect(checkAccess(request(url, { cookie }), loopbackWithToken, signer).allowed).toBe(true);
    const forged = `${SESSION_COOKIE}=${createGallerySigner("another-token-0123456789").sessionValue()}`;
    expect(checkAccess(request(url, { cookie: forged }), loopbackWithToken, signer).allowed).toBe(false);
  });
});

describe("state-changing requests", () => {
  const signer = createGallerySigner(TOKEN);
  const session = signer.sessionValue();
  const post = (headers: Record<string, string>) =>
    new Request("http://127.0.0.1:3000/gallery/g/a/cancel", {
      method: "POST",
      headers: { host: "127.0.0.1:3000", ...headers },
    });

  it("pass with our Origin and the session's CSRF token", () => {
    const form = new URLSearchParams({ csrf: signer.csrfToken(session) });
    expect(checkCsrf(post({ origin: "http://127.0.0.1:3000" }), form, session, signer)).toEqual({ ok: true });
    // Behind a TLS proxy the browser's origin is https; the host is what must match.
    expect(checkCsrf(post({ origin: "https://127.0.0.1:3000" }), form, session, signer)).toEqual({
      ok: true,
    });
    expect(
      checkCsrf(post({ referer: "http://127.0.0.1:3000/gallery/g/a/cancel" }), form, session, signer),
    ).toEqual({
      ok: true,
    });
  });

  it("are refused from a foreign origin, without an origin, or without the right token", () => {
    const good = new URLSearchParams({ csrf: signer.csrfToken(session) });
    expect(checkCsrf(post({ origin: "http://evil.example" }), good, session, signer).ok).toBe(false);
    expect(checkCsrf(post({}), good, session, signer).ok).toBe(false);
    expect(checkCsrf(post({ origin: "null" }), good, session, signer).ok).toBe(false);
    const origin = { origin: "http://127.0.0.1:3000" };
    expect(checkCsrf(post(origin), new URLSearchParams(), session, signer).ok).toBe(false);
    // A token bound to another session does not pass.
    const other = new URLSearchParams({ csrf: signer.csrfToken("another-session") });
    expect(checkCsrf(post(origin), other, session, signer).ok).toBe(false);
  });
});
