import { Inngest } from "inngest";
import type { StageConfig } from "../config.ts";

/**
 * The Inngest client for the CLI. INNGEST_DEV, INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY, INNGEST_BASE_URL, … are read
 * by the SDK itself (as the SDK defines them), from the environment the CLI was given.
 */
export function createCliInngestClient(
  config: StageConfig,
  environment: Record<string, string | undefined>,
): Inngest {
  return new Inngest({ id: config.inngestAppId }).setEnvVars(environment);
}

/** Whether events can be sent: an event key (Inngest Cloud) or dev mode (the local dev server needs none). */
export function canSendEvents(client: Inngest): boolean {
  return client.mode === "dev" || client.eventKey !== undefined;
}
