import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../../src/errors/provider-error.ts";
import { createDashscopeVideoProvider } from "../../../src/providers/dashscope/index.ts";
import type { ProviderStartInput } from "../../../src/providers/provider.ts";

// Real sockets on 127.0.0.1: what undici actually raises for a refused connection, a reset and a timeout, and
// the multipart body it actually writes.

const API_KEY = "sk-network-key-0123456789";
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/dashscope/${name}.json`, import.meta.url), "utf8"));

const input: ProviderStartInput = {
  prompt: "Waves at night",
  resolution: "720P",
  duration: 2,
  seed: 3,
  audio: false,
  image: { kind: "url", url: "https://images.example.com/waves.png" },
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

type Handler = (request: IncomingMessage, response: ServerResponse, received: Received) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
const received: Received[] = [];
const dispatcher = new Agent({ connectTimeout: 2000 });

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const entry = {
      method: request.method ?? "",
      url: request.url ?? "",
      headers: request.headers,
      body: Buffer.concat(chunks),
    };
    received.push(entry);
    handler(request, response, entry);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await dispatcher.close();
});

const providerWith = (timeouts?: { submitMs?: number; otherMs?: number }) =>
  createDashscopeVideoProvider({ apiKey: API_KEY, baseUrl, dispatcher, ...(timeouts ? { timeouts } : {}) });

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("connection failures", () => {
  it("a refused connection is transient on submit and status: the request never left", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");
    const provider = createDashscopeVideoProvider({
      apiKey: API_KEY,
      baseUrl: `http://127.0.0.1:${port}/api/v1`,
      dispatcher,
    });
    expect(await failure(provider.start(input))).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
    expect(await failure(provider.status("t1"))).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
  });

  it("a reset after the body was sent is ambiguous on submit and transient on status", async () => {
    handler = (request) => request.socket.destroy();
    const provider = providerWith();
    const onSubmit = await failure(provider.start(input));
    expect(onSubmit).toMatchObject({ kind: "ambiguous_submit", retryable: true, operation: "submit" });
    expect(onSubmit.message).toMatch(/^DashScope submit failed: network error UND_ERR_SOCKET/);
    expect(await failure(provider.status("t2"))).toMatchObject({ kind: "transient", code: "UND_ERR_SOCKET" });
  });

  it("no answer within the timeout is ambiguous on submit and transient on status", async () => {
    handler = () => undefined;
    const provider = providerWith({ submitMs: 300, otherMs: 300 });
    expect(await failure(provider.start(input))).toMatchObject({
      kind: "ambiguous_submit",
      code: "UND_ERR_HEADERS_TIMEOUT",
    });
    expect(await failure(provider.status("t3"))).toMatchObject({
      kind: "transient",
      code: "UND_ERR_HEADERS_TIMEOUT",
    });
  });

  it("an abort is re-thrown as it is, never mapped", async () => {
    handler = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await providerWith()
      .start(input, { signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(ProviderError);
    expect(error).toBe(controller.signal.reason);
  });
});

describe("upload over real HTTP", () => {
  it("writes a multipart body whose fields arrive in order with the file last, then submits with the OSS header", async () => {
    received.length = 0;
    handler = (request, response) => {
      const path = request.url ?? "";
      if (path.startsWith("/api/v1/uploads")) {
        const policy = fixture("upload-policy") as { data: Record<string, unknown> };
        // A local upload host over http is allowed because the API itself is reached over http.
        policy.data.upload_host = `${baseUrl.replace("/api/v1", "")}/oss-upload`;
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(policy));
      } else if (path === "/oss-upload") {
        response.writeHead(200).end();
      } else {
        response
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(fixture("submit")));
      }
    };
    const bytes = new Uint8Array(16 * 1024).map((_, index) => index % 251);
    const result = await providerWith().start({
      ...input,
      image: { kind: "bytes", bytes, contentType: "image/webp", filename: "frame.webp" },
    });
    expect(result.taskId).toBe("0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10");

    const [policyRequest, uploadRequest, submitRequest] = received;
    expect(policyRequest?.url).toBe("/api/v1/uploads?action=getPolicy&model=wan2.6-i2v-flash");
    expect(policyRequest?.headers.authorization).toBe(`Bearer ${API_KEY}`);

    expect(uploadRequest?.method).toBe("POST");
    expect(uploadRequest?.headers.authorization).toBeUndefined();
    expect(uploadRequest?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    const form = await new Response(uploadRequest!.body, {
      headers: { "content-type": String(uploadRequest!.headers["content-type"]) },
    }).formData();
    const names = [...form.keys()];
    expect(names.at(-1)).toBe("file");
    expect(names.slice(0, 4)).toStrictEqual(["OSSAccessKeyId", "Signature", "policy", "key"]);
    const file = form.get("file") as File;
    expect(file.name).toBe("frame.webp");
    expect(new Uint8Array(await file.arrayBuffer())).toStrictEqual(bytes);

    expect(submitRequest?.headers["x-dashscope-ossresourceresolve"]).toBe("enable");
    expect(submitRequest?.headers["x-dashscope-async"]).toBe("enable");
    expect(JSON.parse(submitRequest!.body.toString("utf8")).input.img_url).toBe(`oss://${form.get("key")}`);
  });
});
