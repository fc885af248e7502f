/**
 * `video-generate-stage`: the `video.generate` stage as a library. A host application builds the stage's Inngest
 * functions on its own client (`composeStage`, `loadConfig`, `createVideoGenerateFunctions`), talks to them with the
 * typed events, or runs one request in process (`generateInProcess`). The ready-made composition root, which reads
 * `process.env`, is the subpath `video-generate-stage/inngest-config`.
 *
 * Every export of this module is public API, described in docs/api.md; anything reachable only through a deep import
 * is internal. Importing it starts nothing, opens nothing and reads no environment variable: the heavy parts
 * (AWS SDK, PGlite, pg, sharp, undici) load on the first `composeStage` call.
 */
import type { ComposeOptions, StageRuntime } from "./compose-stage.ts";
import type { StageConfig } from "./config.ts";

export type { ComposeOptions, StageRuntime } from "./compose-stage.ts";
export { CONFIG_VARIABLES, loadConfig, type StageConfig } from "./config.ts";
export {
  type CostEstimate,
  DEFAULT_PRICE_TABLE,
  estimateCost,
  type PriceTable,
} from "./contract/cost-estimate.ts";
export type { GenerationWarning } from "./contract/generation-warning.ts";
export {
  type CacheMode,
  type UnsupportedPolicy,
  type VideoGenerateRequest,
  videoGenerateRequestSchema,
} from "./contract/video-generate-request.ts";
export {
  type VideoGenerateResponse,
  videoGenerateResponseSchema,
} from "./contract/video-generate-response.ts";
export { WAN_MODEL, WAN_MODEL_FPS, type WanResolution } from "./contract/wan-model.ts";
export {
  ConfigurationError,
  type ErrorCategory,
  InputError,
  isVideoGenerationError,
  ProviderError,
  StorageError,
  VideoGenerationError,
} from "./errors/index.ts";
export { TASK_WATCHER_FUNCTION_ID } from "./functions/task-watcher.ts";
export { createVideoGenerateFunctions, VIDEO_GENERATE_FUNCTION_ID } from "./functions/video-generate.ts";
export type {
  ProgressUpdate,
  StageSettings,
  VideoGenerateDependencies,
} from "./functions/video-generate-dependencies.ts";
export {
  EVENT_NAMES,
  videoGenerationCanceled,
  videoGenerationCancelRequested,
  videoGenerationCompleted,
  videoGenerationFailed,
  videoGenerationRequested,
} from "./functions/video-generation-events.ts";
export { videoGenerationChannel } from "./functions/video-generation-realtime.ts";
export {
  type ComposedOperatorRoutes,
  composeOperatorRoutes,
} from "./gallery/compose-operator-handler.ts";
export type { GalleryAccessOptions } from "./gallery/gallery-access.ts";
export { type GalleryActions, InngestUnreachableError } from "./gallery/gallery-actions.ts";
export { toFetchRequest, toNodeHandler, writeFetchResponse } from "./gallery/node-http-adapter.ts";
export {
  createOperatorHandler,
  type OperatorHandler,
  type OperatorHandlerOptions,
} from "./gallery/operator-handler.ts";
export type { GenerationQueries } from "./metadata/generation-queries.ts";
export { createMetricsHandler } from "./metrics/metrics-handler.ts";
export type { StageMetrics } from "./metrics/stage-metrics.ts";
export {
  createDashscopePushHandler,
  DASHSCOPE_PUSH_PATH,
  type DashscopePushHandlerOptions,
  type TaskEndedEvent,
  type TaskOwner,
} from "./push/dashscope-push-handler.ts";
export {
  type CertificateSource,
  createCertificateSource,
  OFFICIAL_CERTIFICATE_ORIGIN,
} from "./push/eventbridge-certificates.ts";
export { createEventBridgeVerifier, type EventBridgeVerifier } from "./push/eventbridge-verifier.ts";
export { type BusEvent, EventBus } from "./runner/event-bus.ts";
export { type GenerationOutcome, generateInProcess } from "./runner/generate-in-process.ts";
export { createStageServer, type StageServerOptions } from "./server/create-stage-server.ts";

/**
 * Builds the stage's dependencies from configuration: the DashScope provider, the object store (S3 or a local
 * directory), the metadata store (PostgreSQL or the embedded database, migrated), the image reader and, when ffmpeg
 * exists, the conform copier. Fails naming the setting when something is missing (e.g. no API key). Call `close()` on
 * the result when done. The drivers behind it load on the first call, not when the package is imported.
 */
export async function composeStage(config: StageConfig, options?: ComposeOptions): Promise<StageRuntime> {
  const { composeStage: compose } = await import("./compose-stage.ts");
  return compose(config, options);
}
