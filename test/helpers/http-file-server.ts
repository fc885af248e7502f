import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

/** How one path answers. Exactly one of `bytes`, `file`, `stream` or `redirectTo` (or only `status`). */
export interface TestRoute {
  /** Serve these bytes. */
  bytes?: Uint8Array;
  /** Serve this file. */
  file?: string;
  /** Serve a fresh stream per request; give `length` to send a Content-Length. */
  stream?: () => Readable;
  /** Length of `stream`'s body, sent as Content-Length. */
  length?: number;
  /** Redirect (302 unless `status` says otherwise) to this absolute or relative URL. */
  redirectTo?: string;
  /** Status code. Default 200 (302 with `redirectTo`). */
  status?: number;
  /** Content-Type. Default `video/mp4`. */
  contentType?: string;
  /** Send this Content-Length instead of the true one (then close the connection). */
  declaredLength?: number;
  /** Send no Content-Length (chunked). */
  omitLength?: boolean;
  /** Destroy the connection after this many body bytes. */
  resetAfterBytes?: number;
  /** Wait this long before the headers, in ms. */
  delayMs?: number;
  /** Pause this long after every 64 KiB of body, in ms. */
  chunkDelayMs?: number;
}

/** A server on 127.0.0.1 with an ephemeral port. */
export interface TestHttpServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** The URL of `path` on this server. */
  url(path: string): string;
  /** Adds or replaces a route. */
  route(path: string, route: TestRoute): void;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

async function bodyOf(route: TestRoute): Promise<{ body: Readable; length: number | undefined }> {
  if (route.bytes) return { body: Readable.from([Buffer.from(route.bytes)]), length: route.bytes.byteLength };
  if (route.file) return { body: createReadStream(route.file), length: (await stat(route.file)).size };
  if (route.stream) return { body: route.stream(), length: route.length };
  return { body: Readable.from([]), length: 0 };
}

async function answer(route: TestRoute, response: ServerResponse) {
  if (route.delayMs) await sleep(route.delayMs);
  if (route.redirectTo !== undefined) {
    response.writeHead(route.status ?? 302, { location: route.redirectTo, "content-length": "0" }).end();
    return;
  }
  const { body, length } = await bodyOf(route);
  const headers: Record<string, string> = { "content-type": route.contentType ?? "video/mp4" };
  const declared = route.declaredLength ?? length;
  if (declared !== undefined && !route.omitLength) headers["content-length"] = String(declared);
  // A wrong length or a reset only reaches the client as an error when the connection ends with the body.
  if (route.declaredLength !== undefined || route.resetAfterBytes !== undefined) headers.connection = "close";
  response.writeHead(route.status ?? 200, headers);
  let sent = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.byteLength; offset += 64 * 1024) {
      let piece = chunk.subarray(offset, offset + 64 * 1024);
      if (route.resetAfterBytes !== undefined && sent + piece.byteLength >= route.resetAfterBytes) {
        piece = piece.subarray(0, route.resetAfterBytes - sent);
        if (piece.byteLength > 0) response.write(piece);
        await sleep(20);
        body.destroy();
        response.socket?.resetAndDestroy();
        return;
      }
      sent += piece.byteLength;
      if (!response.write(piece)) await new Promise((resolve) => response.once("drain", resolve));
      if (route.chunkDelayMs) await sleep(route.chunkDelayMs);
      if (response.destroyed) {
        body.destroy();
        return;
      }
    }
  }
  response.end();
}

/** Starts a file server on 127.0.0.1 for tests: see {@link TestRoute} for the faults it can inject. */
export async function startHttpFileServer(routes: Record<string, TestRoute> = {}): Promise<TestHttpServer> {
  const table = new Map(Object.entries(routes));
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    requests.push(path);
    const route = table.get(path);
    if (!route) {
      response.writeHead(404, { "content-length": "0" }).end();
      return;
    }
    answer(route, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    url: (path) => `${origin}${path}`,
    route: (path, route) => table.set(path, route),
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
