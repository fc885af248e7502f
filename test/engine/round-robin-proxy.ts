import { createServer, request as httpRequest, type Server } from "node:http";
import { findFreePort } from "../helpers/free-port.ts";

/** An HTTP load balancer on 127.0.0.1: what puts several workers behind the one URL an Inngest app has. */
export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Requests forwarded to each backend, in the order the backends were given. */
  forwarded(): number[];
  close(): Promise<void>;
}

/**
 * Forwards each request to the next backend origin in turn (Host header kept, so the workers register the proxy's
 * URL when synced through it); a backend that refuses the connection is skipped for that request.
 */
export async function startRoundRobinProxy(backends: string[]): Promise<RoundRobinProxy> {
  const counts = backends.map(() => 0);
  let next = 0;
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const index = next++ % backends.length;
        const target = new URL(incoming.url ?? "/", backends[index]);
        const forward = httpRequest(
          target,
          { method: incoming.method, headers: incoming.headers },
          (answer) => {
            counts[index]! += 1;
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        forward.on("error", () => {
          if (outgoing.headersSent) return void outgoing.destroy();
          if (tries + 1 < backends.length) return attempt(tries + 1);
          outgoing.writeHead(502);
          outgoing.end();
        });
        forward.end(body);
      };
      attempt(0);
    });
  });
  const port = await findFreePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded: () => [...counts],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
