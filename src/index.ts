/**
 * The `video.generate` stage as a library: the Inngest functions for a host app's own client, the in-process runner,
 * the contract, and the parts (provider, stores) to wire them. `inngest.config.ts` is the ready-made composition.
 */
export { type ComposeOptions, composeStage, type StageRuntime } from "./compose-stage.ts";
export { CONFIG_VARIABLES, loadConfig, type StageConfig } from "./config.ts";
export { computeCacheKey, deriveSeed } from "./contract/cache-key.ts";
export {
  type CostEstimate,
  DEFAULT_PRICE_TABLE,
  estimateCost,
  type PriceTable,
} from "./contract/cost-estimate.ts";
export type { GenerationWarning } from "./contract/generation-warning.ts";
export { type GenerationPlan, planForImage, planGeneration } from "./contract/plan-generation.ts";
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
export { WAN_MODEL, WAN_MODEL_FPS } from "./contract/wan-model.ts";
export {
  ConfigurationError,
  InputError,
  ProviderError,
  StorageError,
  VideoGenerationError,
} from "./errors/index.ts";
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
export { EventBus } from "./runner/event-bus.ts";
export { type GenerationOutcome, generateInProcess } from "./runner/generate-in-process.ts";
export { createStageServer } from "./server/create-stage-server.ts";
