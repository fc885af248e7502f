import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrometheusServer, startPrometheus } from "./prometheus-server.ts";
import { engineRequest, requested } from "./requests.ts";
import { type RoundRobinProxy, startRoundRobinProxy } from "./round-robin-proxy.ts";
import { syncApp } from "./sync-app.ts";
import { useDevEngine } from "./use-dev-engine.ts";
import { waitUntil } from "./wait-until.ts";

/**
 * Debian's Prometheus scrapes two `video-gen serve` workers' `/metrics` every second with the bearer token, while
 * generations run on the real Inngest dev server with their steps spread over both workers (one app URL, a
 * round-robin balancer in front). Its HTTP API must return the counts the suite expects: summed over the workers,
 * each generation counted once, a re-sent event counted not at all.
 */

const TOKEN = randomBytes(24).toString("hex");
const JOB = "video-generate";

const engine = useDevEngine({ workers: 2, workerEnvironment: { VIDEO_GEN_UI_TOKEN: TOKEN } });
let proxy: RoundRobinProxy;
let prometheus: PrometheusServer;
let targets: string[];

beforeAll(async () => {
  proxy = await startRoundRobinProxy(engine.workers.map((worker) => new URL(worker.endpoint).origin));
  await syncApp(`${proxy.url}/api/inngest`);
  targets = engine.workers.map((worker) => new URL(worker.endpoint).host);
  prometheus = await startPrometheus([
    { name: JOB, targets, bearerToken: TOKEN },
    // The same targets without the token: Prometheus must be refused.
    { name: `${JOB}-no-token`, targets },
  ]);
}, 180_000);
afterAll(async () => {
  await prometheus?.stop();
  await proxy?.close();
});

/** The single value of an aggregating query (`sum(...)`, `max(...)`); undefined when it has none yet. */
async function scalar(expression: string): Promise<number | undefined> {
  const samples = await prometheus.query(expression);
  return samples.length === 1 ? samples[0]!.value : undefined;
}

/** Waits until `expression` equals `expected` in Prometheus (scraped every second), and returns it. */
function eventually(expression: string, expected: number, timeoutMs = 30_000): Promise<number> {
  return waitUntil(
    `${expression} == ${expected}`,
    async () => {
      const value = await scalar(expression);
      return value === expected ? value : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Waits until Prometheus scraped every worker after `moment` (so what happened before it is in the data). */
function scrapedAfter(moment: number): Promise<true> {
  return waitUntil("a scrape of every worker after the last run ended", async () => {
    const samples = await prometheus.query(`timestamp(up{job="${JOB}"})`);
    return samples.length === targets.length && samples.every((sample) => sample.value * 1000 > moment + 200)
      ? true
      : undefined;
  });
}

async function runToEnd(data: Record<string, unknown>, status: "COMPLETED" | "FAILED") {
  const [eventId] = await engine.api.sendEvents([requested(data)]);
  const [run] = await engine.api.waitForEventRuns(eventId!);
  await engine.api.waitForRunStatus(run!.id, [status], 120_000);
  return (await engine.api.run(run!.id)).output as {
    cache_hit?: boolean;
    duration?: number;
    cost_estimate?: { currency: string; amount: number };
  };
}

const sum = (selector: string) => `sum(${selector})`;

describe("/metrics scraped by a real Prometheus during an engine suite", () => {
  it("serves /metrics to the bearer token only", async () => {
    const url = `http://${targets[0]}/metrics`;
    const open = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(open.status).toBe(200);
    expect(open.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await open.text()).toContain("video_generation_build_info{");
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-wrong-token" } })).status).toBe(
      401,
    );

    // Both workers up for the job with the token, refused (up 0) for the job without.
    await eventually(sum(`up{job="${JOB}"}`), 2);
    await eventually(`count(up{job="${JOB}-no-token"} == 0)`, 2);
    expect(await scalar(`count(video_generation_build_info{job="${JOB}",model="wan2.6-i2v-flash"})`)).toBe(2);
    expect(await scalar(`max(video_generation_database_up{job="${JOB}"})`)).toBe(1);
  }, 60_000);

  it("counts generations, provider calls, cost and time once, summed over the workers", async () => {
    const first = engineRequest({ correlation: { film: "metrics" } });
    const second = engineRequest();
    const invalid = engineRequest({ duration: 1 });
    const outputs = await Promise.all([runToEnd(first, "COMPLETED"), runToEnd(second, "COMPLETED")]);
    await runToEnd(invalid, "FAILED");
    // The same content under a new id: answered from the cache.
    const cached = await runToEnd({ ...first, generation_id: `${first.generation_id}-again` }, "COMPLETED");
    expect(cached.cache_hit).toBe(true);
    // The first event sent again (same generation id): a replay of a generation already counted.
    const replayed = await runToEnd(first, "COMPLETED");
    expect(replayed.cache_hit).toBe(true);
    await scrapedAfter(Date.now());

    const finished = (labels: string) => sum(`video_generation_finished_total{job="${JOB}",${labels}}`);
    expect(await eventually(finished(`status="succeeded",cache_hit="false"`), 2)).toBe(2);
    expect(await scalar(finished(`status="succeeded",cache_hit="true"`))).toBe(1);
    expect(await scalar(finished(`status="failed"`))).toBe(1);
    expect(await scalar(sum(`video_generation_finished_total{job="${JOB}"}`))).toBe(4);
    expect(await scalar(sum(`video_generation_started_total{job="${JOB}"}`))).toBe(4);
    expect(
      await scalar(
        sum(`video_generation_provider_calls_total{job="${JOB}",operation="submit",outcome="ok"}`),
      ),
    ).toBe(2);
    expect(
      await scalar(
        sum(`video_generation_provider_calls_total{job="${JOB}",operation="status",outcome="ok"}`),
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(await scalar(sum(`video_generation_duration_seconds_count{job="${JOB}",cache_hit="false"}`))).toBe(
      2,
    );
    expect(await scalar(sum(`video_generation_render_duration_seconds_count{job="${JOB}"}`))).toBe(2);
    const seconds = outputs.reduce((total, output) => total + (output.duration ?? 0), 0);
    expect(await scalar(sum(`video_generation_output_video_seconds_total{job="${JOB}"}`))).toBeCloseTo(
      seconds,
      6,
    );
    const cost = outputs.reduce((total, output) => total + (output.cost_estimate?.amount ?? 0), 0);
    expect(cost).toBeGreaterThan(0);
    const currency = outputs[0]!.cost_estimate!.currency;
    expect(
      await scalar(sum(`video_generation_estimated_cost_total{job="${JOB}",currency="${currency}"}`)),
    ).toBeCloseTo(cost, 6);
    // Nothing left in flight: the database gauges, the same on both workers.
    expect(await scalar(`max(max by (status) (video_generation_active{job="${JOB}"}))`)).toBe(0);
    expect(await scalar(`max(video_generation_budget_slots_in_use{job="${JOB}"})`)).toBe(0);
    expect(await scalar(`max(video_generation_budget_waiters{job="${JOB}"})`)).toBe(0);
    expect(await scalar(`count(video_generation_budget_waiters{job="${JOB}"})`)).toBe(2);
    // Both workers ran steps of these generations.
    expect(proxy.forwarded().every((count) => count > 0)).toBe(true);
  }, 240_000);
});
