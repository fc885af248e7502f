import { Readable } from "node:stream";
import type { ByteRange, ObjectStore } from "../storage/object-store.ts";

/**
 * Parses a single-range `Range` header against an object of `size` bytes: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
 * Returns null when there is no usable header (serve the whole object), or "unsatisfiable" (416). Several ranges are
 * answered with the whole object, which RFC 9110 allows; browsers ask for one.
 */
export function parseRange(header: string | null, size: number): ByteRange | null | "unsatisfiable" {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

/**
 * Answers a GET or HEAD for one stored object, with Range support (206), so browsers seek in videos and Safari plays
 * them at all. The body streams from the store; nothing is held in memory. Private: `Cache-Control: private`.
 */
export async function serveStoredObject(
  request: Request,
  objectStore: Pick<ObjectStore, "stat" | "openRead">,
  key: string,
  headers: Record<string, string>,
): Promise<Response> {
  const stat = await objectStore.stat(key);
  if (!stat) return new Response("the stored object is gone\n", { status: 404, headers });
  const range = parseRange(request.headers.get("range"), stat.bytes);
  const common = {
    ...headers,
    "accept-ranges": "bytes",
    "content-type": stat.contentType,
    "cache-control": "private, max-age=3600",
  };
  if (range === "unsatisfiable") {
    return new Response(null, {
      status: 416,
      headers: { ...common, "content-range": `bytes */${stat.bytes}` },
    });
  }
  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : stat.bytes;
  const responseHeaders: Record<string, string> = { ...common, "content-length": String(length) };
  if (range) responseHeaders["content-range"] = `bytes ${range.start}-${range.end}/${stat.bytes}`;
  if (request.method === "HEAD" || length === 0)
    return new Response(null, { status, headers: responseHeaders });
  const opened = await objectStore.openRead(key, range ?? undefined);
  return new Response(Readable.toWeb(opened.body) as ReadableStream<Uint8Array>, {
    status,
    headers: responseHeaders,
  });
}
