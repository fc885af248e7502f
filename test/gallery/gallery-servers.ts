import http from "node:http";
import type { GalleryAccessOptions } from "../../src/gallery/gallery-access.ts";
import type { GalleryActions } from "../../src/gallery/gallery-actions.ts";
import { toNodeHandler } from "../../src/gallery/node-http-adapter.ts";
import { createOperatorHandler, type OperatorHandlerOptions } from "../../src/gallery/operator-handler.ts";
import { findFreePort, retryOnPortClash } from "../helpers/free-port.ts";

/** One call that reached the gallery's actions. */
export type RecordedAction =
  | { kind: "replay"; generationId: string; force: boolean }
  | { kind: "cancel"; generationId: string; reason: string };

/**
 * Replay and Cancel that only record their calls: these suites prove what the pages let through (POST, CSRF token,
 * Origin). That the real actions send the real events and replay or cancel real runs is proven on the real Inngest
 * server by the engine suite test/engine/gallery-actions.test.ts.
 */
export function createRecordingActions(): GalleryActions & { calls: RecordedAction[] } {
  const calls: RecordedAction[] = [];
  return {
    calls,
    async replay(generationId, { force }) {
      calls.push({ kind: "replay", generationId, force });
      return { generationId: `${generationId}-replay-1` };
    },
    async cancel(generationId, reason) {
      calls.push({ kind: "cancel", generationId, reason });
      return { message: `Canceled ${generationId} (recorded by the test).` };
    },
  };
}

/** A gallery served over HTTP on 127.0.0.1. */
export interface GalleryServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  port: number;
  actions: ReturnType<typeof createRecordingActions>;
  close(): Promise<void>;
}

/**
 * Serves the operator handler through `toNodeHandler` on a free port of 127.0.0.1, the way `video-gen ui` and
 * `serve` mount it; other paths get a JSON 404. Errors the handler reports go to `onError`.
 */
export async function startGalleryServer(input: {
  access: GalleryAccessOptions;
  handler: Omit<OperatorHandlerOptions, "access" | "actions">;
}): Promise<GalleryServer> {
  const actions = createRecordingActions();
  const handle = toNodeHandler(createOperatorHandler({ ...input.handler, access: input.access, actions }));
  const server = http.createServer((request, response) => {
    const notFound = () => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "not found" }));
    };
    handle(request, response, notFound).catch((error: unknown) => {
      input.handler.onError?.(error);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  const port = await retryOnPortClash(async () => {
    const candidate = await findFreePort();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(candidate, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return candidate;
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    actions,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
