import type { ServerProcess } from "./server-process.ts";
import { WaitAborted, waitUntil } from "./wait-until.ts";

/** Waits until `GET <url>/health` answers 200; fails early, with the server's output, if the process exits. */
export async function waitForInngestHealth(
  url: string,
  server: ServerProcess,
  timeoutMs = 60_000,
): Promise<void> {
  await waitUntil(
    `the Inngest server at ${url} to answer /health`,
    async () => {
      if (server.exited()) throw new WaitAborted(`the Inngest server exited:\n${server.logTail()}`);
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      return response.status === 200 ? true : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch((error: Error) => {
    if (error instanceof WaitAborted) throw error;
    throw new Error(`${error.message}\n--- server output ---\n${server.logTail()}`);
  });
}
