import type { SandboxOptions } from "../../src/sandbox/index.ts";
import { createInngestApi, type InngestApi } from "./inngest-api.ts";
import { type SelfHostedInngest, startSelfHostedInngest } from "./inngest-self-hosted.ts";
import { type RoundRobinProxy, startRoundRobinProxy } from "./round-robin-proxy.ts";
import { type StageEnvironment, startStageEnvironment } from "./stage-environment.ts";
import { type StageWorker, startStageWorker } from "./stage-worker.ts";
import { syncApp } from "./sync-app.ts";

/**
 * The production shape: `inngest start` on Redis and PostgreSQL, the stage's workers in cloud mode (signing key and
 * event key) behind one round-robin load balancer, the app synced through it so the server calls every worker.
 */
export interface SelfHostedEngine {
  server: SelfHostedInngest;
  /** Event API with the event key; REST v1/v2 with the signing key as a Bearer token. */
  api: InngestApi;
  stage: StageEnvironment;
  workers: StageWorker[];
  /** The load balancer in front of the workers, once {@link SelfHostedEngine.startWorkers} has run. */
  proxy(): RoundRobinProxy | undefined;
  /**
   * Starts `count` `video-gen serve` workers in cloud mode (`overrides` on top of the environment), puts them
   * behind one round-robin proxy and syncs the app through it: the app's URL is the proxy's. Once per engine.
   */
  startWorkers(count: number, overrides?: Record<string, string>): Promise<RoundRobinProxy>;
  /** Stops the proxy, the workers, the server and Redis, the sandbox; drops the databases. Never leaves a process running. */
  close(): Promise<void>;
}

export async function startSelfHostedEngine(
  options: {
    sandbox?: SandboxOptions;
    workerEnvironment?: Record<string, string>;
    /** The Inngest server binary and the PostgreSQL admin URL; default the test setup's (pass both outside Vitest). */
    inngestBinary?: string;
    postgresUrl?: string;
  } = {},
): Promise<SelfHostedEngine> {
  const server = await startSelfHostedInngest({
    binary: options.inngestBinary,
    postgresUrl: options.postgresUrl,
  });
  const workers: StageWorker[] = [];
  let proxy: RoundRobinProxy | undefined;
  let stage: StageEnvironment | undefined;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await proxy?.close();
      await Promise.all(workers.map((worker) => worker.stop()));
      await server.stop();
      await stage?.close();
    })();
    return closed;
  };
  try {
    stage = await startStageEnvironment({ sandbox: options.sandbox, postgresUrl: options.postgresUrl });
    const environment = stage;
    return {
      server,
      api: createInngestApi({ url: server.url, eventKey: server.eventKey, signingKey: server.signingKey }),
      stage: environment,
      workers,
      proxy: () => proxy,
      async startWorkers(count, overrides = {}) {
        if (proxy || workers.length > 0) throw new Error("startWorkers runs once per engine");
        const cloud = environment.workerEnvironment({
          INNGEST_BASE_URL: server.url,
          INNGEST_SIGNING_KEY: server.signingKey,
          INNGEST_EVENT_KEY: server.eventKey,
          ...options.workerEnvironment,
          ...overrides,
        });
        // One at a time: each syncs itself on start (the app is the server's by its name, the last sync's URL wins).
        for (let index = 0; index < count; index++) workers.push(await startStageWorker(cloud));
        proxy = await startRoundRobinProxy(workers.map((worker) => new URL(worker.endpoint).origin));
        await syncApp(`${proxy.url}/api/inngest`);
        return proxy;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
