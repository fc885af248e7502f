import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { findFreePort, retryOnPortClash } from "../helpers/free-port.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { WaitAborted, waitUntil } from "./wait-until.ts";

/** A throw-away Redis (Debian's `redis-server`) on 127.0.0.1. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** Answers `PING` with `+PONG`? */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("PING\r\n"));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once("data", (data) => {
      resolve(data.toString().startsWith("+PONG"));
      socket.end();
    });
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}

/**
 * Starts `redis-server` on a free port with its own temporary directory and no persistence: it outlives restarts of
 * the Inngest server in a test, not the test itself. Needs Debian's `redis-server` (`apt-get install redis-server`).
 */
export function startRedisServer(): Promise<RedisServer> {
  return retryOnPortClash(startOnce);
}

async function startOnce(): Promise<RedisServer> {
  const directory = await mkdtemp(path.join(tmpdir(), "inngest-redis-"));
  const port = await findFreePort();
  let server: ServerProcess | undefined;
  try {
    server = startServerProcess("redis-server", [
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--dir",
      directory,
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "yes",
    ]);
    const started = server;
    await waitUntil(
      `redis-server on port ${port}`,
      async () => {
        if (started.exited()) throw new WaitAborted(`redis-server exited:\n${started.logTail()}`);
        return (await ping(port)) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await server?.kill();
    await rm(directory, { recursive: true, force: true });
    const hint = (error as Error).message.includes("ENOENT") ? " (apt-get install redis-server)" : "";
    throw new Error(`${(error as Error).message}${hint}`);
  }
  const running = server;
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await running.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
