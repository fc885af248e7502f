import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors/provider-error.ts";
import { createDashscopeVideoProvider } from "../../src/providers/dashscope/index.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { call, type RawResponse } from "./sandbox-test-helpers.ts";

/** The account-wide rate limits of the documented service (dashscope.md 5 and 6), answered 429 like the service. */
describe("sandbox rate limits", () => {
  let sandbox: SandboxHandle;

  beforeAll(async () => {
    sandbox = await startSandbox({ timings: { pendingMs: 600_000, renderMs: 0 } });
  });
  afterAll(async () => sandbox?.close());

  const headers = () => ({ authorization: `Bearer ${sandbox.apiKey}` });
  const expectThrottled = (response: RawResponse) => {
    expect(response.status).toBe(429);
    expect(response.json()).toMatchObject({
      code: "Throttling.RateQuota",
      message: "Requests rate limit exceeded, please try again later.",
    });
    expect(response.headers["retry-after"]).toBeUndefined();
  };

  it("shares 20 QPS among task queries, cancels and lists", async () => {
    await sleep(1_050);
    const before = sandbox.stats().queriesThrottled;
    const requests = Array.from({ length: 25 }, (_, index) => {
      if (index % 3 === 0) return call(`${sandbox.baseUrl}/tasks/query-${index}`, { headers: headers() });
      if (index % 3 === 1) return call(`${sandbox.baseUrl}/tasks/?page_no=1`, { headers: headers() });
      return call(`${sandbox.baseUrl}/tasks/cancel-${index}/cancel`, { method: "POST", headers: headers() });
    });
    const responses = await Promise.all(requests);
    const throttled = responses.filter((response) => response.status === 429);
    // Unknown ids: a query answers 200 UNKNOWN, a cancel 400 UnsupportedOperation; both count against the limit.
    expect(responses.filter((response) => response.status !== 429)).toHaveLength(20);
    expect(throttled).toHaveLength(5);
    for (const response of throttled) expectThrottled(response);
    expect(sandbox.stats().queriesThrottled - before).toBe(5);

    await sleep(1_050);
    expect((await call(`${sandbox.baseUrl}/tasks/query-again`, { headers: headers() })).status).toBe(200);
  });

  it("reaches the client as a throttled ProviderError on status and list", async () => {
    await sleep(1_050);
    const provider = createDashscopeVideoProvider({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl });
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        call(`${sandbox.baseUrl}/tasks/x-${index}`, { headers: headers() }),
      ),
    );
    for (const error of [
      await provider.status("one-too-many").catch((caught: unknown) => caught),
      await provider.listTasks({ pageNo: 1 }).catch((caught: unknown) => caught),
    ]) {
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ kind: "throttled", code: "Throttling.RateQuota", retryable: true });
    }
  });

  it("allows 100 upload-policy calls per second per model", async () => {
    await sleep(1_050);
    const before = sandbox.stats().policiesThrottled;
    const policy = (model: string) =>
      call(`${sandbox.baseUrl}/uploads?action=getPolicy&model=${model}`, { headers: headers() });
    const responses = await Promise.all(Array.from({ length: 105 }, () => policy("wan2.6-i2v-flash")));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(100);
    const throttled = responses.filter((response) => response.status === 429);
    expect(throttled).toHaveLength(5);
    for (const response of throttled) expectThrottled(response);
    // The limit is per account and model: another model's policy is still served in the same second.
    expect((await policy("wan2.6-i2v")).status).toBe(200);
    expect(sandbox.stats().policiesThrottled - before).toBe(5);
    // The policy limit is not the query limit.
    expect((await call(`${sandbox.baseUrl}/tasks/after-policies`, { headers: headers() })).status).toBe(200);
  });
});
