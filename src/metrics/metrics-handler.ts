import type { StageMetrics } from "./stage-metrics.ts";

/** Options of {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /** The stage's metrics (`StageRuntime.metrics`). */
  metrics: StageMetrics;
}

/**
 * A Fetch-API handler for `/metrics`: `GET` (and `HEAD`) answer the Prometheus text exposition of the stage's
 * registry, reading the database gauges first. It does no authentication: whoever mounts it puts it behind the
 * token check (`/metrics` tells volume and cost). Other methods get 405.
 */
export function createMetricsHandler(
  options: MetricsHandlerOptions,
): (request: Request) => Promise<Response> {
  const { registry } = options.metrics;
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch {
      // A collector threw (a bug: the database gauges catch their own failures). No detail: it could carry a secret.
      return new Response("metrics unavailable\n", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    }
    return new Response(request.method === "HEAD" ? null : body, {
      status: 200,
      headers: { "content-type": registry.contentType, "cache-control": "no-store" },
    });
  };
}
