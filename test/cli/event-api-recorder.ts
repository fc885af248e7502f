import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** What the CLI sent to Inngest's event API, in order: the request path (`/e/<key>`) and each event. */
export interface EventApiRecorder {
  /** Base URL to set as INNGEST_BASE_URL. */
  url: string;
  requests: Array<{ path: string; body: unknown }>;
  /** Every event of every request, flattened. */
  events(): Array<{ name: string; data: unknown }>;
  close(): Promise<void>;
}

/** A stand-in for Inngest's event API (`POST /e/<key>`) on 127.0.0.1 that records what it receives. */
export async function startEventApiRecorder(): Promise<EventApiRecorder> {
  const requests: Array<{ path: string; body: unknown }> = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      requests.push({ path: request.url ?? "", body: JSON.parse(body || "null") });
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ ids: [`event-${requests.length}`], status: 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    events: () =>
      requests.flatMap(
        ({ body }) => (Array.isArray(body) ? body : [body]) as Array<{ name: string; data: unknown }>,
      ),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
