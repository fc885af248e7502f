import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { findFreePorts, retryOnPortClash } from "../helpers/free-port.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { inngestBinary } from "./inngest-binary.ts";
import { waitForInngestHealth } from "./inngest-health.ts";
import { type RedisServer, startRedisServer } from "./redis-server.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";

/** A running `inngest start` (self-hosted, production shape) on its own Redis and PostgreSQL database. */
export interface SelfHostedInngest {
  /** `http://127.0.0.1:<port>`: what a worker's `INNGEST_BASE_URL` is set to. */
  url: string;
  /** The signing key as the server takes it: even-length hex. */
  signingKeyHex: string;
  /** What a worker's `INNGEST_SIGNING_KEY` is set to: `signkey-prod-<hex>`. */
  signingKey: string;
  eventKey: string;
  /** The server process now (a new one after `restart`). */
  process(): ServerProcess;
  /** SIGKILL, as a crash would: Redis and PostgreSQL keep the state. */
  kill(): Promise<void>;
  /** Starts the server again with the same ports, Redis, database and keys. */
  restart(): Promise<void>;
  /** Stops the server and Redis and drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `redis-server`, creates a database on the test PostgreSQL cluster, and runs `inngest start` on
 * them with a signing key and an event key, every port chosen free, failed steps retried after 1 s. `binary` and
 * `postgresUrl` (the PostgreSQL admin URL) default to the test setup's; outside Vitest (e.g. in a benchmark) pass both.
 */
export function startSelfHostedInngest(
  options: { binary?: string; postgresUrl?: string } = {},
): Promise<SelfHostedInngest> {
  return retryOnPortClash(() => startOnce(options), 2);
}

async function startOnce(options: { binary?: string; postgresUrl?: string }): Promise<SelfHostedInngest> {
  const binary = options.binary ?? inngestBinary();
  const postgresUrl = options.postgresUrl ?? inject("postgresUrl");
  const redis: RedisServer = await startRedisServer();
  const database = await createTestDatabase(postgresUrl).catch(async (error) => {
    await redis.stop();
    throw error;
  });
  const [port, gateway, gatewayGrpc, executorGrpc] = await findFreePorts(4);
  const signingKeyHex = randomBytes(32).toString("hex");
  const eventKey = `event-key-${randomBytes(8).toString("hex")}`;
  const url = `http://127.0.0.1:${port}`;
  const args = [
    "start",
    "--host",
    "127.0.0.1",
    "-p",
    String(port),
    "--connect-gateway-port",
    String(gateway),
    "--connect-gateway-grpc-port",
    String(gatewayGrpc),
    "--connect-executor-grpc-port",
    String(executorGrpc),
    "--redis-uri",
    redis.url,
    "--postgres-uri",
    database.url,
    "--signing-key",
    signingKeyHex,
    "--event-key",
    eventKey,
    "--retry-interval",
    "1",
  ];
  let server: ServerProcess = startServerProcess(binary, args);
  const start = async () => {
    try {
      await waitForInngestHealth(url, server, 90_000);
    } catch (error) {
      await server.kill();
      throw error;
    }
  };
  try {
    await start();
  } catch (error) {
    await redis.stop();
    await database.drop();
    throw error;
  }
  return {
    url,
    signingKeyHex,
    signingKey: `signkey-prod-${signingKeyHex}`,
    eventKey,
    process: () => server,
    kill: () => server.kill(),
    async restart() {
      await server.kill();
      server = startServerProcess(binary, args);
      await start();
    },
    async stop() {
      await server.stop();
      await redis.stop();
      await database.drop().catch(() => {});
    },
  };
}
