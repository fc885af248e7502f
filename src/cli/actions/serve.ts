import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { InputError } from "../../errors/input-error.ts";
import { createVideoGenerateFunctions } from "../../functions/video-generate.ts";
import { createRealtimeProgressPublisher } from "../../functions/video-generation-realtime.ts";
import { createStageServer } from "../../server/create-stage-server.ts";
import { type CliIo, untilTerminated, warn } from "../cli-io.ts";
import { createCliInngestClient } from "../inngest-client.ts";

/** The flags of `video-gen serve`, as commander parses them. */
export interface ServeFlags {
  port: string;
  host: string;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw InputError.forField(
      "port",
      `--port must be a whole number from 0 to 65535; got ${JSON.stringify(text)}`,
    );
  }
  return port;
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
    const functions = createVideoGenerateFunctions(client, runtime.dependencies);
    const server = createStageServer({
      client,
      functions,
      describe: runtime.describe,
      checkDatabase: () => runtime.dependencies.metadataStore.countSlots(),
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, flags.host, () => resolve());
    });
    const address = server.address();
    const actualPort = typeof address === "object" && address ? address.port : port;
    const origin = `http://${flags.host.includes(":") ? `[${flags.host}]` : flags.host}:${actualPort}`;
    io.stdout.write(
      `Serving app ${config.inngestAppId} (${client.mode} mode): ${origin}/api/inngest, health at ${origin}/healthz\n`,
    );
    const signal = await untilTerminated();
    warn(io, `${signal}: shutting down`);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return 0;
  } finally {
    await runtime.close();
  }
}
