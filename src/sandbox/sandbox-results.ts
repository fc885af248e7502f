import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendOssError } from "./sandbox-http.ts";
import type { SandboxSigner } from "./sandbox-signing.ts";
import type { SandboxTask } from "./sandbox-tasks.ts";

export interface ResultServiceOptions {
  /** This server's origin; result URLs are `{origin}/results/{taskId}.mp4?Expires=…&OSSAccessKeyId=…&Signature=…`. */
  origin: () => string;
  signer: SandboxSigner;
  now: () => number;
  /** Lifetime of a result URL from the task's end time, in milliseconds. */
  resultUrlTtlMs: number;
  /** A SUCCEEDED task's record by id (undefined when unknown or expired). */
  findTask: (taskId: string) => SandboxTask | undefined;
}

export interface ResultService {
  /** The signed, expiring URL of a SUCCEEDED task's video. */
  url(task: SandboxTask): string;
  /** Makes every URL issued so far for these tasks fail with 403, as after its lifetime. */
  expire(taskIds: Iterable<string>): void;
  /**
   * Serves `GET`/`HEAD /results/{taskId}.mp4` with Range support. With `resetMidway` it sends the headers and
   * half of the body, then destroys the socket. Returns true when the file was (being) sent.
   */
  handle(
    request: IncomingMessage,
    response: ServerResponse,
    taskId: string,
    query: URLSearchParams,
    options: { resetMidway: boolean },
  ): Promise<boolean>;
}

const objectPath = (taskId: string) => `/results/${taskId}.mp4`;

export function createResultService(options: ResultServiceOptions): ResultService {
  const expired = new Set<string>();

  return {
    url(task) {
      const expires = Math.floor(((task.endTime ?? options.now()) + options.resultUrlTtlMs) / 1000);
      const query = new URLSearchParams({
        Expires: String(expires),
        OSSAccessKeyId: options.signer.accessKeyId,
        Signature: options.signer.signResult(objectPath(task.taskId), expires),
      });
      return `${options.origin()}${objectPath(task.taskId)}?${query}`;
    },
    expire(taskIds) {
      for (const taskId of taskIds) expired.add(taskId);
    },
    async handle(request, response, taskId, query, { resetMidway }) {
      const expires = Number(query.get("Expires"));
      const signature = query.get("Signature") ?? "";
      if (
        !Number.isInteger(expires) ||
        query.get("OSSAccessKeyId") !== options.signer.accessKeyId ||
        !signature
      ) {
        sendOssError(
          response,
          403,
          "AccessDenied",
          "You have no right to access this object because of bucket acl.",
        );
        return false;
      }
      if (!options.signer.verifyResult(objectPath(taskId), expires, signature)) {
        sendOssError(
          response,
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided.",
        );
        return false;
      }
      if (expires * 1000 <= options.now() || expired.has(taskId)) {
        sendOssError(response, 403, "AccessDenied", "Request has expired.");
        return false;
      }
      const videoPath = options.findTask(taskId)?.videoPath;
      if (!videoPath) {
        sendOssError(response, 404, "NoSuchKey", "The specified key does not exist.");
        return false;
      }
      const file = await readFile(videoPath);
      const range = parseRange(request.headers.range, file.length);
      if (range === "unsatisfiable") {
        response.writeHead(416, { "content-range": `bytes */${file.length}`, "content-length": 0 });
        response.end();
        return false;
      }
      const [start, end] = range ?? [0, file.length - 1];
      const headers: Record<string, string | number> = {
        "content-type": "video/mp4",
        "content-length": end - start + 1,
        "accept-ranges": "bytes",
        "last-modified": new Date(options.findTask(taskId)?.endTime ?? options.now()).toUTCString(),
        etag: `"${taskId}"`,
      };
      if (range) headers["content-range"] = `bytes ${start}-${end}/${file.length}`;
      response.writeHead(range ? 206 : 200, headers);
      if (request.method === "HEAD") {
        response.end();
        return true;
      }
      const body = file.subarray(start, end + 1);
      if (resetMidway) {
        response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.socket?.destroy());
        return true;
      }
      response.end(body);
      return true;
    },
  };
}

/** A single `bytes=` range as inclusive offsets; undefined for none or a form the server ignores (multi-range). */
function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | "unsatisfiable" | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start >= size || start > end ? "unsatisfiable" : [start, end];
}
