export { ConfigurationError } from "./configuration-error.ts";
export { type FieldIssue, InputError } from "./input-error.ts";
export { ProviderError, type ProviderErrorDetails, type ProviderErrorKind } from "./provider-error.ts";
export { StorageError } from "./storage-error.ts";
export {
  type ErrorCategory,
  isVideoGenerationError,
  VideoGenerationError,
  type VideoGenerationErrorOptions,
} from "./video-generation-error.ts";
