import { type CliProcess, startCli } from "../cli/cli-process.ts";
import { findFreePort, retryOnPortClash } from "../helpers/free-port.ts";
import { killOnExit } from "./child-cleanup.ts";
import { syncApp } from "./sync-app.ts";

/** A `video-gen serve` process, run as users run it, and synced to an Inngest server. */
export interface StageWorker {
  /** `http://127.0.0.1:<port>/api/inngest`. */
  endpoint: string;
  cli(): CliProcess;
  /** `PUT /api/inngest`: the SDK registers the app with its Inngest server. */
  sync(): Promise<void>;
  /** SIGKILL, as a crash or an OOM kill would. */
  kill(): Promise<void>;
  /** A new process on the same port and environment (the server keeps calling the same URL), synced. */
  restart(): Promise<void>;
  /** SIGTERM (a clean shutdown), SIGKILL after 10 s. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starting tsx-run TypeScript sources on two busy cores can take a while. */
const START_TIMEOUT_MS = 90_000;

/**
 * Starts `video-gen serve --port <free> --host 127.0.0.1` with exactly `environment` (INNGEST_DEV=<dev server> or
 * the cloud-mode variables) and syncs it.
 */
export function startStageWorker(environment: Record<string, string>): Promise<StageWorker> {
  return retryOnPortClash(() => startOnce(environment), 2);
}

async function startOnce(environment: Record<string, string>): Promise<StageWorker> {
  const port = await findFreePort();
  const endpoint = `http://127.0.0.1:${port}/api/inngest`;
  let cli: CliProcess;
  const launch = async () => {
    const current = startCli(["serve", "--port", String(port), "--host", "127.0.0.1"], environment);
    cli = current;
    const forget = killOnExit(() => current.child.kill("SIGKILL"));
    current.child.once("exit", forget);
    try {
      await cli.waitForOutput(/Serving app /, START_TIMEOUT_MS);
      await worker.sync();
    } catch (error) {
      cli.child.kill("SIGKILL");
      throw error;
    }
  };
  const kill = async () => {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
    const exited = cli.exited(5_000);
    cli.child.kill("SIGKILL");
    await exited;
  };
  const worker: StageWorker = {
    endpoint,
    cli: () => cli,
    sync: () => syncApp(endpoint, cli.output().stderr),
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
      const exited = cli.exited(10_000);
      cli.child.kill("SIGTERM");
      await exited;
    },
  };
  await launch();
  return worker;
}
