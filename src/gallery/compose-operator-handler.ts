import type { Inngest } from "inngest";
import type { StageRuntime } from "../compose-stage.ts";
import type { StageConfig } from "../config.ts";
import { createMetricsHandler } from "../metrics/metrics-handler.ts";
import { galleryAvailability } from "./gallery-access.ts";
import { createEventGalleryActions } from "./gallery-event-actions.ts";
import { createOperatorHandler, type OperatorHandler } from "./operator-handler.ts";

/** The operator routes wired from a composed stage, and whether they are served. */
export interface ComposedOperatorRoutes {
  handler: OperatorHandler;
  /** Whether the pages answer at all, and a sentence saying why (serve prints it at start). */
  availability: { enabled: boolean; reason: string };
  /** Whether Replay and Cancel are offered, and why not. */
  actions: { enabled: boolean; reason: string };
}

/**
 * Builds the gallery, the JSON API, the media routes and `/metrics` for a composed stage (`video-gen serve`,
 * `video-gen ui`, or a host app that mounts them).
 */
export function composeOperatorRoutes(input: {
  runtime: Pick<StageRuntime, "dependencies" | "metrics" | "queries">;
  config: Pick<StageConfig, "ui" | "renderEstimateSeconds">;
  /** Whether the server listens on loopback only. */
  loopbackOnly: boolean;
  /** Mount prefix. Default "". */
  basePath?: string;
  /** The Inngest client Replay and Cancel send events with; absent: they are off. */
  client?: Inngest.Any;
  /** The environment the client was configured from (names the variable in an "unreachable" message). */
  environment?: Record<string, string | undefined>;
  onError?: (error: unknown) => void;
}): ComposedOperatorRoutes {
  const { runtime, config, client } = input;
  const access = { token: config.ui.token, loopbackOnly: input.loopbackOnly, allowedHosts: config.ui.hosts };
  const canSend = client !== undefined && (client.mode === "dev" || client.eventKey !== undefined);
  const actions = !config.ui.actions
    ? { enabled: false, reason: "Replay and Cancel are off (set VIDEO_GEN_UI_ACTIONS=1 to enable them)." }
    : !canSend
      ? {
          enabled: false,
          reason:
            "Replay and Cancel need an Inngest server to send events to (INNGEST_DEV=1 for a local dev server, or INNGEST_EVENT_KEY).",
        }
      : { enabled: true, reason: "" };
  const handler = createOperatorHandler({
    basePath: input.basePath,
    metadataStore: runtime.dependencies.metadataStore,
    queries: runtime.queries,
    objectStore: runtime.dependencies.objectStore,
    access,
    metrics: createMetricsHandler({ metrics: runtime.metrics }),
    actions:
      actions.enabled && client
        ? createEventGalleryActions({
            client,
            environment: input.environment,
            dependencies: runtime.dependencies,
          })
        : undefined,
    actionsDisabledReason: actions.reason,
    renderEstimateSeconds: config.renderEstimateSeconds,
    onError: input.onError,
  });
  return { handler, availability: galleryAvailability(access), actions };
}
