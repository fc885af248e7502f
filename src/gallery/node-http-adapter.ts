import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { OperatorHandler } from "./operator-handler.ts";

/** Largest request body the operator routes read (their forms are a few hundred bytes), bytes. */
const MAX_BODY_BYTES = 64 * 1024;

/** The Fetch `Request` for a Node request. The origin comes from the Host header, which the handler checks. */
export async function toFetchRequest(request: IncomingMessage): Promise<Request> {
  const host = request.headers.host ?? "localhost";
  const url = new URL(request.url ?? "/", `http://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = request.method ?? "GET";
  let body: Uint8Array | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new RangeError("request body too large");
      chunks.push(chunk as Buffer);
    }
    body = Buffer.concat(chunks);
  }
  return new Request(url, { method, headers, body });
}

/** Writes a Fetch `Response` to a Node response, streaming the body (media are not buffered). */
export async function writeFetchResponse(response: Response, out: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  out.writeHead(response.status, headers);
  if (!response.body) {
    out.end();
    return;
  }
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  // A viewer that seeks closes its connection mid-body: that ends the stream early and is not an error.
  await pipeline(body, out).catch(() => body.destroy());
}

/**
 * Mounts the operator routes into a Node `http` server (or Express, or anything with Node's request and response):
 * answers their paths and calls `next` for every other one.
 */
export function toNodeHandler(handler: OperatorHandler) {
  return async (request: IncomingMessage, response: ServerResponse, next: () => void): Promise<void> => {
    let fetchRequest: Request;
    try {
      fetchRequest = await toFetchRequest(request);
    } catch {
      response.writeHead(413, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "request body too large" }));
      return;
    }
    const answer = await handler(fetchRequest);
    if (!answer) {
      next();
      return;
    }
    await writeFetchResponse(answer, response);
  };
}
