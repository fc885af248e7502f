import { ConfigurationError } from "../errors/configuration-error.ts";
import { type FieldIssue, InputError } from "../errors/input-error.ts";
import type { GenerationWarning } from "./generation-warning.ts";
import {
  type CacheMode,
  describeValue,
  parseSize,
  type UnsupportedPolicy,
  type VideoGenerateRequest,
  videoGenerateRequestSchema,
} from "./video-generate-request.ts";
import {
  possibleOutputSizes,
  predictOutputSize,
  resolutionForSize,
  WAN_DURATION_SECONDS,
  WAN_MODEL,
  WAN_MODEL_FPS,
  type WanResolution,
} from "./wan-model.ts";

/** The aspect ratios of request and image may differ this much (relative) before the frame is cropped or flagged. */
export const ASPECT_TOLERANCE = 0.01;

/** What the provider is asked for: the model's own parameters, nothing it does not document. */
export interface ProviderParameters {
  prompt: string;
  negativePrompt?: string;
  audioUrl?: string;
  resolution: WanResolution;
  /** Whole seconds, 2..15. */
  duration: number;
  /** The seed the client sent; the stage derives one from the cache key when absent. */
  seed?: number;
  /** Sound on or off. Default false (silent is half the price), true when the request gives `audio_url` alone. */
  audio: boolean;
  promptExtend?: boolean;
  /** Only ever set together with `promptExtend: true`: the model ignores it otherwise. */
  shotType?: "single" | "multi";
  watermark?: boolean;
}

/** The validated request with defaults applied, the provider parameters and what the conform policy must produce. */
export interface GenerationPlan {
  request: VideoGenerateRequest;
  policy: UnsupportedPolicy;
  cacheMode: CacheMode;
  provider: ProviderParameters;
  /** Requested size, normalized to `W*H`, when given. */
  requestedSize?: { width: number; height: number };
  /** Output the conform policy must produce; empty under warn and strict. */
  conform: { fps?: number; width?: number; height?: number };
  /** Warnings known before the image is read. */
  warnings: GenerationWarning[];
}

export interface PlanOptions {
  /** Policy when the request names none. */
  defaultPolicy: UnsupportedPolicy;
  /** Whether ffmpeg can be run: conform needs it, and says so at validation rather than mid-run. */
  ffmpegAvailable: boolean;
}

/** Turns zod issues into field issues; the messages already name the field, the value and the rule. */
export function toFieldIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): FieldIssue[] {
  return issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "request",
    message: issue.message,
  }));
}

/** Validates a request against the schema; throws `InputError` naming every bad field. */
export function parseRequest(input: unknown): VideoGenerateRequest {
  const result = videoGenerateRequestSchema.safeParse(input);
  if (!result.success) throw new InputError(toFieldIssues(result.error.issues), { cause: result.error });
  return result.data;
}

/**
 * Validates a request and decides, for every field the model cannot honour (fps, motion_strength; size needs the
 * image and is settled by `planForImage`) and every combination it would silently ignore (`audio_url` with `audio`
 * false, `shot_type` with `prompt_extend` false), what the policy does with it. Throws `InputError` under `strict`
 * and `ConfigurationError` when `conform` is asked for without ffmpeg.
 */
export function planGeneration(input: unknown, options: PlanOptions): GenerationPlan {
  const request = parseRequest(input);
  const policy = request.unsupported ?? options.defaultPolicy;
  if (policy === "conform" && !options.ffmpegAvailable) {
    throw new ConfigurationError(
      "unsupported=conform needs ffmpeg, and none was found: set FFMPEG_PATH, install ffmpeg, or reinstall with npm ci so @ffmpeg-installer/ffmpeg is present",
      { code: "ffmpeg_missing" },
    );
  }
  const requestedSize = request.size === undefined ? undefined : parseSize(request.size);
  const warnings: GenerationWarning[] = [];
  const rejections: FieldIssue[] = [];
  const conform: GenerationPlan["conform"] = {};

  if (request.fps !== undefined && request.fps !== WAN_MODEL_FPS) {
    if (policy === "strict") {
      rejections.push({
        field: "fps",
        message: `fps ${request.fps} cannot be honoured: ${WAN_MODEL} renders at a fixed ${WAN_MODEL_FPS} fps; send fps ${WAN_MODEL_FPS}, omit fps, or use unsupported "conform" to resample`,
      });
    } else if (policy === "conform") {
      conform.fps = request.fps;
    } else {
      warnings.push({
        field: "fps",
        requested: request.fps,
        applied: WAN_MODEL_FPS,
        reason: `${WAN_MODEL} renders at a fixed ${WAN_MODEL_FPS} fps; use unsupported "conform" to resample`,
      });
    }
  }

  if (request.motion_strength !== undefined) {
    if (policy === "strict") {
      rejections.push({
        field: "motion_strength",
        message: `motion_strength ${request.motion_strength} cannot be honoured: ${WAN_MODEL} has no motion control; omit it and describe the motion in the prompt`,
      });
    } else {
      warnings.push({
        field: "motion_strength",
        requested: request.motion_strength,
        applied: null,
        reason:
          policy === "conform"
            ? `${WAN_MODEL} has no motion control, and retiming the clip afterwards would change its duration, so conform drops it; describe the motion in the prompt`
            : `${WAN_MODEL} has no motion control; describe the motion in the prompt`,
      });
    }
  }

  if (policy === "conform" && requestedSize) {
    const even = (value: number) => 2 * Math.round(value / 2);
    conform.width = even(requestedSize.width);
    conform.height = even(requestedSize.height);
    if (conform.width !== requestedSize.width || conform.height !== requestedSize.height) {
      warnings.push({
        field: "size",
        requested: `${requestedSize.width}*${requestedSize.height}`,
        applied: `${conform.width}*${conform.height}`,
        reason:
          "H.264 with 4:2:0 chroma needs even width and height, so odd sides are rounded to the nearest even number",
      });
    }
  }

  // The API renders silence when `audio` is false even with `audio_url` set, and bills it as silent
  // (dashscope.md 2.1): a sound track given without `audio` means sound, and one given with `audio: false` is a trap.
  const audioUrlOverridden = request.audio_url !== undefined && request.audio === false;
  if (audioUrlOverridden) {
    if (policy === "strict") {
      rejections.push({
        field: "audio_url",
        message: `audio_url cannot be honoured with audio false: ${WAN_MODEL} renders silence when audio is false, even with audio_url set; set audio true (or omit audio) to use the sound, or drop audio_url for a silent video`,
      });
    } else {
      warnings.push({
        field: "audio_url",
        requested: "set, with audio false",
        applied: null,
        reason: `audio false overrides audio_url: ${WAN_MODEL} renders a silent video (billed as silent) and does not use the sound; set audio true (or omit audio) to use it`,
      });
    }
  }

  // `shot_type` takes effect only with `prompt_extend` (dashscope.md 2.2); the API default of prompt_extend is true.
  const shotTypeIneffective = request.shot_type !== undefined && request.prompt_extend === false;
  if (shotTypeIneffective) {
    if (policy === "strict") {
      rejections.push({
        field: "shot_type",
        message: `shot_type "${request.shot_type}" cannot be honoured with prompt_extend false: ${WAN_MODEL} applies shot_type only when prompt_extend is true; set prompt_extend true (or omit it), or drop shot_type`,
      });
    } else {
      warnings.push({
        field: "shot_type",
        requested: request.shot_type ?? null,
        applied: null,
        reason: `${WAN_MODEL} applies shot_type only when prompt_extend is true, and prompt_extend is false, so shot_type is not sent`,
      });
    }
  }

  if (rejections.length > 0) throw new InputError(rejections);

  const provider: ProviderParameters = {
    prompt: request.prompt,
    resolution: requestedSize ? resolutionForSize(requestedSize.width, requestedSize.height) : "720P",
    duration: request.duration ?? WAN_DURATION_SECONDS.default,
    // Default silent (half the price), but a sound track asked for by URL means sound.
    audio: request.audio ?? request.audio_url !== undefined,
  };
  if (request.negative_prompt !== undefined) provider.negativePrompt = request.negative_prompt;
  if (request.audio_url !== undefined && !audioUrlOverridden) provider.audioUrl = request.audio_url;
  if (request.seed !== undefined) provider.seed = request.seed;
  if (request.prompt_extend !== undefined) provider.promptExtend = request.prompt_extend;
  if (request.shot_type !== undefined && !shotTypeIneffective) {
    provider.shotType = request.shot_type;
    // Explicit, so the provider client (which sends shot_type only with prompt_extend true) passes it on; true is
    // the API's own default, so nothing else changes.
    provider.promptExtend = true;
  }
  if (request.watermark !== undefined) provider.watermark = request.watermark;

  const plan: GenerationPlan = {
    request,
    policy,
    cacheMode: request.cache ?? "use",
    provider,
    conform,
    warnings,
  };
  if (requestedSize) plan.requestedSize = requestedSize;
  return plan;
}

/** What the image adds to a plan: a crop to apply before submit, and the size warnings. */
export interface ImagePlan {
  /** Center-crop the reference image to this aspect (width / height) before submitting; conform only. */
  cropToAspect?: number;
  /**
   * The frame size the model is expected to produce for this image: the requested size when one of the frame rules
   * produces it, else the documented rule's prediction. Approximate: the stored file's measured size is what counts.
   */
  predictedOutput: { width: number; height: number };
  warnings: GenerationWarning[];
}

const formatSize = (size: { width: number; height: number }) => `${size.width}*${size.height}`;

/** `816*1104`, or `816*1104 (documented rule) or 830*1108 (measured rounding)` when the rules disagree. */
function describePredictions(sizes: ReadonlyArray<{ width: number; height: number }>): string {
  const [official, measured] = sizes;
  if (!official) return "an unknown size";
  return measured
    ? `${formatSize(official)} (documented rule) or ${formatSize(measured)} (measured rounding)`
    : formatSize(official);
}

/**
 * Settles `size` once the reference image's dimensions are known: the model's frame follows the image's aspect at
 * the tier's pixel budget, rounded by a rule the sources disagree on (`WanFrameRule`). A requested size that either
 * rule produces is honoured as it stands. Otherwise `strict` rejects it, `warn` reports the (approximate) predicted
 * frame, and `conform` crops the image to the requested aspect (when it differs by more than 1 %) and scales the
 * result afterwards.
 */
export function planForImage(plan: GenerationPlan, image: { width: number; height: number }): ImagePlan {
  const resolution = plan.provider.resolution;
  const requested = plan.requestedSize;
  if (!requested)
    return { predictedOutput: predictOutputSize(resolution, image.width, image.height), warnings: [] };

  const requestedAspect = requested.width / requested.height;
  const imageAspect = image.width / image.height;
  const aspectDiffers = Math.abs(requestedAspect / imageAspect - 1) > ASPECT_TOLERANCE;

  if (plan.policy === "conform") {
    const submittedAspect = aspectDiffers ? requestedAspect : imageAspect;
    const predictedOutput = predictOutputSize(resolution, submittedAspect * 1000, 1000);
    return aspectDiffers
      ? { cropToAspect: requestedAspect, predictedOutput, warnings: [] }
      : { predictedOutput, warnings: [] };
  }

  const possible = possibleOutputSizes(resolution, image.width, image.height);
  const produced = possible.find(
    (size) => size.width === requested.width && size.height === requested.height,
  );
  if (produced) return { predictedOutput: produced, warnings: [] };
  const predictedOutput = possible[0] ?? predictOutputSize(resolution, image.width, image.height);
  const reason = aspectDiffers
    ? `the output frame follows the reference image's aspect (${image.width}x${image.height}) at the ${resolution} pixel budget; use unsupported "conform" to crop and scale`
    : `the output frame is the ${resolution} pixel budget at the reference image's aspect; use unsupported "conform" to scale`;
  if (plan.policy === "strict") {
    throw InputError.forField(
      "size",
      `size ${formatSize(requested)} cannot be honoured: ${reason}. For this image ${WAN_MODEL} produces about ${describePredictions(possible)}; got ${describeValue(plan.request.size)}`,
    );
  }
  return {
    predictedOutput,
    warnings: [
      {
        field: "size",
        requested: formatSize(requested),
        applied: `about ${formatSize(predictedOutput)}`,
        reason: `${reason}; the predicted frame is approximate (${describePredictions(possible)}): the response reports the stored file's measured size`,
      },
    ],
  };
}
