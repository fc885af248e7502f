import http from "node:http";
import type { Inngest, InngestFunction } from "inngest";
import { serve } from "inngest/node";
import { toFetchRequest, toNodeHandler, writeFetchResponse } from "../gallery/node-http-adapter.ts";
import type { OperatorHandler } from "../gallery/operator-handler.ts";

export interface StageServerOptions {
  client: Inngest.Any;
  functions: ReadonlyArray<InngestFunction.Any>;
  /** Configuration summary without secrets, shown by `/healthz`. */
  describe: () => Record<string, unknown>;
  /** A cheap round trip to the metadata store; `/healthz` reports 503 when it fails. */
  checkDatabase: () => Promise<unknown>;
  /** Where Inngest calls the functions. Default `/api/inngest`. */
  servePath?: string;
  /** The operator routes (gallery, JSON API, media, `/metrics`), from `composeOperatorRoutes`; absent: none. */
  operator?: OperatorHandler;
  /**
   * DashScope's completion push (`createDashscopePushHandler`), served on `POST /hooks/dashscope/<secret>`; absent:
   * the route does not exist.
   */
  push?: (request: Request) => Promise<Response>;
  /** Told about errors of the operator routes that could not be answered. */
  onError?: (error: unknown) => void;
}

/**
 * The HTTP face of the stage: Inngest's endpoint (signed requests only, unless dev mode), `GET /healthz`, and the
 * operator routes when given (`/gallery`, `/api/generations`, `/media/…`, `/metrics`).
 * Any number of these can run behind one Inngest app; all state is in PostgreSQL and S3.
 */
export function createStageServer(options: StageServerOptions): http.Server {
  const servePath = options.servePath ?? "/api/inngest";
  const inngestHandler = serve({ client: options.client, functions: [...options.functions], servePath });
  const operator = options.operator ? toNodeHandler(options.operator) : undefined;
  const endpoints = [
    servePath,
    "/healthz",
    ...(operator ? ["/gallery", "/api/generations", "/metrics"] : []),
  ];

  return http.createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    if (pathname === servePath) return inngestHandler(request, response);
    const push = options.push;
    if (push && pathname.startsWith("/hooks/dashscope/")) {
      toFetchRequest(request)
        .then((fetchRequest) => push(fetchRequest))
        .then((answer) => writeFetchResponse(answer, response))
        .catch((error: unknown) => {
          options.onError?.(error);
          if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
          response.end(JSON.stringify({ error: "unexpected error; see the server log" }));
        });
      return;
    }
    if (pathname === "/healthz" && request.method === "GET") {
      void healthz(options).then(({ statusCode, body }) => {
        response.writeHead(statusCode, { "content-type": "application/json" });
        response.end(JSON.stringify(body));
      });
      return;
    }
    const notFound = () => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "not found", endpoints }));
    };
    if (!operator) return notFound();
    if (pathname === "/" && request.method === "GET") {
      response.writeHead(303, { location: "/gallery" });
      response.end();
      return;
    }
    operator(request, response, notFound).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "unexpected error; see the server log" }));
    });
  });
}

async function healthz(options: StageServerOptions) {
  let database: string;
  try {
    await options.checkDatabase();
    database = "reachable";
  } catch {
    database = "unreachable";
  }
  const ok = database === "reachable";
  return {
    statusCode: ok ? 200 : 503,
    body: {
      status: ok ? "ok" : "degraded",
      inngest: {
        app_id: options.client.id,
        mode: options.client.mode,
        serve_path: options.servePath ?? "/api/inngest",
        functions: options.functions.map((fn) => fn.id()),
      },
      database,
      ...options.describe(),
    },
  };
}
