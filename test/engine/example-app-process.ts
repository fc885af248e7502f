import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { findFreePort, retryOnPortClash } from "../helpers/free-port.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { syncApp } from "./sync-app.ts";
import { WaitAborted, waitUntil } from "./wait-until.ts";

/** The example host app: examples/film-pipeline, with the packed stage in its own node_modules. */
export const EXAMPLE_APP_DIR = fileURLToPath(new URL("../../examples/film-pipeline/", import.meta.url));

/** The example app running in its own process, synced to an Inngest server. */
export interface ExampleApp {
  /** `http://127.0.0.1:<port>/api/inngest`. */
  endpoint: string;
  process: ServerProcess;
  /** SIGTERM (the app closes its server and the stage), SIGKILL after 10 s. Safe to call twice. */
  stop(): Promise<void>;
}

/** tsx compiling the app and the stage loading its drivers, on two busy cores. */
const START_TIMEOUT_MS = 90_000;

/**
 * Starts the app as its README does (`node --import tsx src/main.ts` in its directory, what `npm start` runs, without
 * npm in between so that a stop or a kill reaches the app itself) with exactly `environment` plus `PORT` (free), and
 * syncs it with `PUT /api/inngest`. The test setup (test/setup/example-app.global.ts) installed the packed stage.
 */
export function startExampleApp(environment: Record<string, string>): Promise<ExampleApp> {
  const setupError = inject("exampleAppError");
  if (setupError) throw new Error(setupError);
  if (!existsSync(`${EXAMPLE_APP_DIR}node_modules/video-generate-stage/package.json`)) {
    throw new Error("examples/film-pipeline has no installed stage: run `npm run install-stage` there");
  }
  return retryOnPortClash(() => startOnce(environment), 2);
}

async function startOnce(environment: Record<string, string>): Promise<ExampleApp> {
  const port = await findFreePort();
  const endpoint = `http://127.0.0.1:${port}/api/inngest`;
  // startServerProcess has no working directory of its own: the shell enters the app's and becomes node.
  const app = startServerProcess(
    "sh",
    ["-c", 'cd "$1" && exec "$2" --import tsx src/main.ts', "sh", EXAMPLE_APP_DIR, process.execPath],
    { ...environment, PORT: String(port) },
  );
  try {
    await waitUntil(
      "the film-pipeline app to listen",
      () => {
        if (app.exited()) throw new WaitAborted(`the film-pipeline app exited:\n${app.logTail()}`);
        return app.logTail().includes(`:${port}/api/inngest`) ? true : undefined;
      },
      { timeoutMs: START_TIMEOUT_MS },
    );
    await syncApp(endpoint, app.logTail());
  } catch (error) {
    await app.kill();
    throw error;
  }
  return { endpoint, process: app, stop: () => app.stop(10_000) };
}
