import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { createVideoGenerateFunctions } from "../../functions/video-generate.ts";
import { createRealtimeProgressPublisher } from "../../functions/video-generation-realtime.ts";
import { watchedSettings } from "../../functions/wait-schedule.ts";
import { composeOperatorRoutes } from "../../gallery/compose-operator-handler.ts";
import { isLoopbackHostname } from "../../gallery/gallery-security.ts";
import { composeDashscopePush } from "../../push/compose-push-handler.ts";
import { createStageServer } from "../../server/create-stage-server.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { listen, serveUntilTerminated } from "../http-listen.ts";
import { createCliInngestClient } from "../inngest-client.ts";
import { parsePort } from "../parse-port.ts";

/** The flags of `video-gen serve`, as commander parses them. */
export interface ServeFlags {
  port: string;
  host: string;
}

/**
 * Serves the Inngest endpoint (`/api/inngest`) and `/healthz`, wired as the `inngest-config` composition root wires
 * them, until SIGINT/SIGTERM. Cloud mode (the SDK's default) refuses to start without the signing key (requests
 * could not be verified) or the event key (every run ends by sending an event); dev mode accepts unsigned requests.
 */
export async function runServe(io: CliIo, flags: ServeFlags): Promise<number> {
  const port = parsePort(flags.port);
  const config = loadConfig(io.environment);
  const client = createCliInngestClient(config, io.environment);
  if (client.mode === "cloud" && !client.signingKey) {
    throw new ConfigurationError(
      "serve runs in Inngest cloud mode and needs INNGEST_SIGNING_KEY (from the Inngest dashboard) to verify that requests come from Inngest; for a local Inngest dev server set INNGEST_DEV=1 instead",
      { code: "inngest_signing_key_missing" },
    );
  }
  if (client.mode === "cloud" && client.eventKey === undefined) {
    throw new ConfigurationError(
      "serve runs in Inngest cloud mode and needs INNGEST_EVENT_KEY (from the Inngest dashboard): the functions send video/generation.completed, .failed and .canceled at the end of every run, and without the key each of those sends would fail after the work was done; for a local Inngest dev server set INNGEST_DEV=1 instead",
      { code: "inngest_event_key_missing" },
    );
  }
  if (client.mode === "dev") {
    warn(
      io,
      "WARNING: INNGEST_DEV is set: dev mode accepts UNSIGNED requests to /api/inngest, so anyone who can reach this port can run generations on your account. Use it only with the local dev server; never expose it.",
    );
  }
  const runtime = await composeStage(config);
  try {
    if (config.realtime) {
      runtime.dependencies.publishProgress = createRealtimeProgressPublisher(client);
    }
    // Served on Inngest: the task watcher runs beside the pipeline, and the push route settles with its timings.
    if (runtime.dependencies.settings.taskWatcher !== false) {
      runtime.dependencies.settings = watchedSettings(runtime.dependencies.settings);
    }
    const functions = createVideoGenerateFunctions(client, runtime.dependencies);
    const onError = (error: unknown) =>
      warn(
        io,
        `operator route failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    const operator = composeOperatorRoutes({
      runtime,
      config,
      loopbackOnly: isLoopbackHostname(flags.host),
      client,
      environment: io.environment,
      onError,
    });
    const server = createStageServer({
      client,
      functions,
      describe: runtime.describe,
      checkDatabase: () => runtime.dependencies.metadataStore.countSlots(),
      operator: operator.handler,
      push: config.pushSecret
        ? composeDashscopePush({
            secret: config.pushSecret,
            testCertificateOrigin: config.pushTestCertificateOrigin,
            queries: runtime.queries,
            client,
            dependencies: runtime.dependencies,
          })
        : undefined,
      onError,
    });
    const origin = await listen(server, port, flags.host);
    io.stdout.write(
      `Serving app ${config.inngestAppId} (${client.mode} mode): ${origin}/api/inngest, health at ${origin}/healthz\n`,
    );
    io.stdout.write(
      operator.availability.enabled
        ? `Gallery at ${origin}/gallery, JSON at ${origin}/api/generations, metrics at ${origin}/metrics: ${operator.availability.reason}; ${operator.actions.enabled ? "Replay and Cancel on" : "read-only"}\n`
        : `Gallery, JSON API, media and /metrics are ${operator.availability.reason}\n`,
    );
    // The route's path holds the secret, so only its prefix is shown.
    if (config.pushSecret) {
      io.stdout.write(
        `DashScope completion push on: POST ${origin}/hooks/dashscope/<DASHSCOPE_PUSH_SECRET>\n`,
      );
    }
    await serveUntilTerminated(io, server);
    return 0;
  } finally {
    await runtime.close();
  }
}
