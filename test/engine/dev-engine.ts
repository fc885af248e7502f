import type { SandboxOptions } from "../../src/sandbox/index.ts";
import { createInngestApi, type InngestApi } from "./inngest-api.ts";
import { type InngestDevServer, startInngestDevServer } from "./inngest-dev-server.ts";
import { type StageEnvironment, startStageEnvironment } from "./stage-environment.ts";
import { type StageWorker, startStageWorker } from "./stage-worker.ts";

/** One suite's world on `inngest dev`: the server, the stage's environment, and workers synced to it. */
export interface DevEngine {
  server: InngestDevServer;
  api: InngestApi;
  stage: StageEnvironment;
  workers: StageWorker[];
  /** Another `video-gen serve` against the same server and environment (`overrides` on top), synced. */
  addWorker(overrides?: Record<string, string>): Promise<StageWorker>;
  /** Stops the workers, the server, the sandbox; drops the database. Never leaves a process running. */
  close(): Promise<void>;
}

export async function startDevEngine(
  options: {
    sandbox?: SandboxOptions;
    workerEnvironment?: Record<string, string>;
    workers?: number;
    /** The Inngest server binary and the PostgreSQL admin URL; default the test setup's (pass both outside Vitest). */
    inngestBinary?: string;
    postgresUrl?: string;
  } = {},
): Promise<DevEngine> {
  const server = await startInngestDevServer({ binary: options.inngestBinary });
  const workers: StageWorker[] = [];
  let stage: StageEnvironment | undefined;
  const close = async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await server.stop();
    await stage?.close();
  };
  try {
    stage = await startStageEnvironment({ sandbox: options.sandbox, postgresUrl: options.postgresUrl });
    const environment = stage;
    const engine: DevEngine = {
      server,
      api: createInngestApi({ url: server.url }),
      stage: environment,
      workers,
      async addWorker(overrides = {}) {
        const worker = await startStageWorker(
          environment.workerEnvironment({
            INNGEST_DEV: server.url,
            ...options.workerEnvironment,
            ...overrides,
          }),
        );
        workers.push(worker);
        return worker;
      },
      close,
    };
    for (let index = 0; index < (options.workers ?? 1); index++) await engine.addWorker();
    return engine;
  } catch (error) {
    await close();
    throw error;
  }
}
