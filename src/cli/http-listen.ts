import type http from "node:http";
import { type CliIo, untilTerminated, warn } from "./cli-io.ts";

/** Starts `server` on `host:port` (0: a free port) and resolves with its origin, e.g. `http://127.0.0.1:3000`. */
export async function listen(server: http.Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`;
}

/** Serves until SIGINT/SIGTERM, then closes the server and every open connection (media streams included). */
export async function serveUntilTerminated(io: CliIo, server: http.Server): Promise<void> {
  const signal = await untilTerminated();
  warn(io, `${signal}: shutting down`);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
