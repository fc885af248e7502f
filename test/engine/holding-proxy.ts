import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { findFreePort } from "../helpers/free-port.ts";

/** An HTTP proxy in front of one worker that can hold back the server's calls to a function. */
export interface HoldingProxy {
  /** `http://127.0.0.1:<port>`: sync the worker through it so the server calls this URL. */
  url: string;
  /** Calls whose query has `fnId=<functionSlug>` are held (not forwarded) from now on. */
  hold(functionSlug: string): void;
  /** Resolves once `count` calls are held. */
  waitForHeld(count: number, timeoutMs: number): Promise<void>;
  /** Stops holding and drops the held calls (their connections reset): they never reach the worker. */
  dropHeld(): void;
  close(): Promise<void>;
}

/**
 * Forwards every request to `backend` (an origin), except the server's calls to a held function: those wait, as a
 * run waits in the server's queue, until dropped. What a run canceled before it started looks like to the worker.
 */
export async function startHoldingProxy(backend: string): Promise<HoldingProxy> {
  let heldSlug: string | undefined;
  const held: IncomingMessage[] = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer((incoming, outgoing) => {
    const slug = new URL(incoming.url ?? "/", backend).searchParams.get("fnId");
    if (heldSlug && slug === heldSlug) {
      held.push(incoming);
      for (const waiter of waiters.splice(0)) waiter();
      return;
    }
    const forward = httpRequest(
      new URL(incoming.url ?? "/", backend),
      { method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on("error", () => {
      if (outgoing.headersSent) return void outgoing.destroy();
      outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.pipe(forward);
  });
  const port = await findFreePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    hold(functionSlug) {
      heldSlug = functionSlug;
    },
    async waitForHeld(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (held.length < count) {
        if (Date.now() > deadline)
          throw new Error(`no ${count} held call(s) of ${heldSlug} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 250);
        });
      }
    },
    dropHeld() {
      heldSlug = undefined;
      for (const request of held.splice(0)) request.socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const request of held.splice(0)) request.socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
