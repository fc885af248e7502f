import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { findFreePort, retryOnPortClash } from "../helpers/free-port.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { waitUntil } from "./wait-until.ts";

/** Debian's `prometheus` package installs the server here. */
const PROMETHEUS_BINARY = "/usr/bin/prometheus";

/** One scrape job of the temporary configuration. */
export interface ScrapeJob {
  name: string;
  /** `host:port` of each target. */
  targets: string[];
  /** Sent as `Authorization: Bearer <token>`; none when absent. */
  bearerToken?: string;
  /** Default `/metrics`. */
  metricsPath?: string;
}

/** One sample of an instant query's answer. */
export interface QuerySample {
  metric: Record<string, string>;
  value: number;
}

/** A running Prometheus of the test, on 127.0.0.1, scraping every second. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  process: ServerProcess;
  /** `GET /api/v1/query`: the samples of an instant vector (a scalar answer becomes one sample). */
  query(expression: string): Promise<QuerySample[]>;
  /** Stops it and deletes its configuration and data. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `prometheus` with a temporary configuration (every job scraped every 1 s) and data directory, on a
 * free port of 127.0.0.1, and waits until it is ready. Fails naming the package when the binary is missing.
 */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<PrometheusServer> {
  if (!existsSync(PROMETHEUS_BINARY)) {
    throw new Error(
      `${PROMETHEUS_BINARY} not found: install Debian's prometheus package (apt-get install -y prometheus)`,
    );
  }
  const directory = await mkdtemp(path.join(tmpdir(), "prometheus-test-"));
  const configFile = path.join(directory, "prometheus.yml");
  // JSON is YAML: no YAML library needed, and every value is quoted correctly.
  await writeFile(
    configFile,
    JSON.stringify({
      global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
      scrape_configs: jobs.map((job) => ({
        job_name: job.name,
        metrics_path: job.metricsPath ?? "/metrics",
        ...(job.bearerToken ? { authorization: { type: "Bearer", credentials: job.bearerToken } } : {}),
        static_configs: [{ targets: job.targets }],
      })),
    }),
  );
  try {
    return await retryOnPortClash(() => startOnce(directory, configFile));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function startOnce(directory: string, configFile: string): Promise<PrometheusServer> {
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startServerProcess(PROMETHEUS_BINARY, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(directory, `data-${port}`)}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ]);
  try {
    await waitUntil(
      "Prometheus to be ready",
      async () => {
        if (server.exited()) throw new Error(`prometheus exited:\n${server.logTail()}`);
        const response = await fetch(`${url}/-/ready`);
        return response.ok ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  } catch (error) {
    await server.kill();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${server.logTail()}`);
  }
  let stopped = false;
  return {
    url,
    process: server,
    async query(expression) {
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expression })}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== "success" || !body.data) {
        throw new Error(`Prometheus query ${expression} failed: ${body.error ?? response.status}`);
      }
      if (body.data.resultType === "scalar") {
        const [, value] = body.data.result as [number, string];
        return [{ metric: {}, value: Number(value) }];
      }
      return (body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map(
        (sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }),
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
