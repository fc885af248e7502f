import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instrumentObjectStore } from "../../src/metrics/instrument-object-store.ts";
import { createMetricsHandler } from "../../src/metrics/metrics-handler.ts";
import { createStageMetrics } from "../../src/metrics/stage-metrics.ts";
import { createSafeFetcher } from "../../src/net/safe-fetch.ts";
import { createUrlGuard } from "../../src/net/url-guard.ts";
import { createLocalObjectStore } from "../../src/storage/index.ts";
import { expectBoundedLabels } from "./bounded-labels.ts";
import { parseExposition, scrape, sumOf } from "./exposition.ts";

let rootDir: string;
beforeAll(async () => {
  rootDir = await mkdtemp(path.join(tmpdir(), "metrics-store-"));
});
afterAll(async () => {
  await rm(rootDir, { recursive: true, force: true });
});

describe("object-store operations", () => {
  it("are counted by operation and outcome on a real local store; pure URL helpers are not", async () => {
    const metrics = createStageMetrics({ version: "0.1.0", model: "wan2.6-i2v-flash", budgetLimit: 5 });
    const store = instrumentObjectStore(
      createLocalObjectStore({
        rootDir,
        maxVideoBytes: 1024 * 1024,
        fetcher: createSafeFetcher({ guard: createUrlGuard({ allowHosts: [] }), maxBytes: 1024 * 1024 }),
      }),
      metrics,
    );
    expect(store.kind).toBe("local");
    await store.putBytes("images/a.jpg", new Uint8Array([1, 2, 3]), "image/jpeg");
    expect(await store.getBytes("images/a.jpg", 10)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.exists("images/a.jpg")).toBe(true);
    expect(await store.exists("images/missing.jpg")).toBe(false);
    await expect(store.getBytes("images/missing.jpg", 10)).rejects.toBeDefined();
    await expect(store.getBytes("images/a.jpg", 2)).rejects.toBeDefined();
    expect(await store.stat("images/a.jpg")).toMatchObject({ bytes: 3 });
    await expect(store.openRead("images/missing.jpg")).rejects.toMatchObject({ code: "object_not_found" });
    await expect(store.openRead("images/a.jpg", { start: 10, end: 20 })).rejects.toMatchObject({
      code: "range_not_satisfiable",
    });
    const aborted = AbortSignal.abort();
    await expect(
      store.copyFromUrl("http://127.0.0.1:9/clip.mp4", "videos/x.mp4", { signal: aborted }),
    ).rejects.toBeDefined();
    expect(store.urlFor("videos/x.mp4")).toMatch(/^file:/);
    expect(store.uriFor("videos/x.mp4")).toMatch(/^file:/);

    const samples = await scrape(metrics);
    const count = (operation: string, outcome: string) =>
      sumOf(samples, "video_generation_storage_operations_total", { operation, outcome });
    expect(count("put_bytes", "ok")).toBe(1);
    expect(count("get_bytes", "ok")).toBe(1);
    expect(count("get_bytes", "error")).toBe(2);
    expect(count("exists", "ok")).toBe(2);
    expect(count("copy_from_url", "aborted")).toBe(1);
    expect(count("stat", "ok")).toBe(1);
    // A reader's mistakes are not storage failures: counted apart from `error`.
    expect(count("open_read", "not_found")).toBe(1);
    expect(count("open_read", "invalid_range")).toBe(1);
    expect(count("open_read", "error")).toBe(0);
    expect(
      sumOf(samples, "video_generation_storage_operations_total", { operation: "url_for" }),
    ).toBeUndefined();
    expectBoundedLabels(samples);
  });
});

describe("the /metrics handler", () => {
  const metrics = createStageMetrics({
    version: "0.1.0",
    model: "wan2.6-i2v-flash",
    budgetLimit: 5,
    currency: "CNY",
  });
  const handler = createMetricsHandler({ metrics });

  it("answers GET with the text exposition and its content type", async () => {
    metrics.generationStarted("bypass");
    const response = await handler(new Request("http://127.0.0.1/metrics"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const text = await response.text();
    expect(text).toContain("# TYPE video_generation_started_total counter");
    expect(text).toContain("# TYPE video_generation_duration_seconds histogram");
    const samples = parseExposition(text);
    expect(sumOf(samples, "video_generation_started_total", { cache_mode: "bypass" })).toBe(1);
    expect(
      sumOf(samples, "video_generation_build_info", { version: "0.1.0", model: "wan2.6-i2v-flash" }),
    ).toBe(1);
    expect(sumOf(samples, "video_generation_budget_slots_limit")).toBe(5);
    expect(sumOf(samples, "video_generation_estimated_cost_total", { currency: "CNY" })).toBe(0);
    // Known series exist before the first event, so rate() and ratios have a start.
    expect(sumOf(samples, "video_generation_finished_total", { status: "failed", cache_hit: "false" })).toBe(
      0,
    );
    expect(
      sumOf(samples, "video_generation_provider_calls_total", { operation: "submit", outcome: "throttled" }),
    ).toBe(0);
    expectBoundedLabels(samples);
  });

  it("answers HEAD without a body and refuses other methods", async () => {
    const head = await handler(new Request("http://127.0.0.1/metrics", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await handler(new Request("http://127.0.0.1/metrics", { method: "POST" }));
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("keeps two stages' metrics apart: each has its own registry, none uses the global one", async () => {
    const { register } = await import("prom-client");
    const other = createStageMetrics({ version: "0.1.0", model: "wan2.6-i2v-flash", budgetLimit: 2 });
    other.generationStarted("use");
    expect(other.registry).not.toBe(metrics.registry);
    expect(sumOf(await scrape(metrics), "video_generation_started_total", { cache_mode: "use" })).toBe(0);
    expect(await register.getMetricsAsJSON()).toEqual([]);
  });
});
