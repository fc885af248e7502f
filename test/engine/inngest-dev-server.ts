import { findFreePorts, retryOnPortClash } from "../helpers/free-port.ts";
import { inngestBinary } from "./inngest-binary.ts";
import { waitForInngestHealth } from "./inngest-health.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";

/** A running `inngest dev` (in-memory state; any event key; no authentication). */
export interface InngestDevServer {
  /** `http://127.0.0.1:<port>`: event API, REST API, GraphQL, and what `INNGEST_DEV` is set to. */
  url: string;
  process: ServerProcess;
  /** Stops it; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `inngest dev` on 127.0.0.1 with every port chosen free (so suites run side by side), without app
 * discovery or polling (apps are synced with `PUT <app>/api/inngest`), retrying failed steps after 1 s instead of the
 * 15 s+ back-off table, and waits until `/health` answers. `binary` defaults to the one the test setup built (outside
 * Vitest, e.g. in a benchmark, pass the path scripts/inngest-server.sh prints).
 */
export function startInngestDevServer(options: { binary?: string } = {}): Promise<InngestDevServer> {
  return retryOnPortClash(() => startOnce(options.binary ?? inngestBinary()));
}

async function startOnce(binary: string): Promise<InngestDevServer> {
  const [port, gateway, gatewayGrpc, executorGrpc, debugApi] = await findFreePorts(5);
  const server = startServerProcess(binary, [
    "dev",
    "--no-discovery",
    "--no-poll",
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
    "--debug-api-port",
    String(debugApi),
    "--retry-interval",
    "1",
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForInngestHealth(url, server);
  } catch (error) {
    await server.kill();
    throw error;
  }
  return { url, process: server, stop: () => server.stop() };
}
