/**
 * Facts about DashScope `wan2.6-i2v-flash` that the stage, the sandbox and the conform policy share.
 * Sources: reference/dashscope.md sections 2 and 5.
 */

/** The exact model string; DashScope has no alias for it. */
export const WAN_MODEL = "wan2.6-i2v-flash";

/** The frame rate the model renders at (official docs: fixed 30 fps, H.264 MP4). */
export const WAN_MODEL_FPS = 30;

/** Whole seconds the model accepts for `parameters.duration`. */
export const WAN_DURATION_SECONDS = { min: 2, max: 15, default: 5 } as const;

/** Range of `parameters.seed`. */
export const WAN_SEED_RANGE = { min: 0, max: 2_147_483_647 } as const;

/** Prompt limits in characters (code points); the API truncates longer text silently, so the stage rejects it. */
export const WAN_PROMPT_MAX_CHARS = 1500;
export const WAN_NEGATIVE_PROMPT_MAX_CHARS = 500;

/** Resolution tiers and their total-pixel budgets; the aspect ratio follows the reference image. */
export const WAN_TIERS = {
  "720P": { pixels: 1280 * 720, shortSide: 720 },
  "1080P": { pixels: 1920 * 1080, shortSide: 1080 },
} as const;

export type WanResolution = keyof typeof WAN_TIERS;

/** Requested pixel counts up to this value map to 720P, larger ones to 1080P (geometric middle of the two budgets). */
export const WAN_720P_MAX_REQUESTED_PIXELS = 1_400_000;

/** Reference image rules of the current API revision (dashscope.md 2.3, revision A2). */
export const WAN_IMAGE_RULES = {
  minSide: 240,
  maxSide: 8000,
  maxBytes: 20 * 1024 * 1024,
  formats: ["jpeg", "png", "bmp", "webp"] as const,
} as const;

/** Beijing list prices in CNY per output second (dashscope.md section 5). */
export const WAN_DEFAULT_PRICES = {
  currency: "CNY",
  perSecond: {
    "720P": { silent: 0.15, audio: 0.3 },
    "1080P": { silent: 0.25, audio: 0.5 },
  },
} as const;

/** Maps a requested frame size to the tier whose pixel budget is closest. */
export function resolutionForSize(width: number, height: number): WanResolution {
  return width * height <= WAN_720P_MAX_REQUESTED_PIXELS ? "720P" : "1080P";
}

/**
 * How the model rounds its frame, in the two readings the sources give (dashscope.md 2.4), which disagree:
 * - `official`: the documented rule and example (750x1000 at 720P → 816x1104): each side of the tier's pixel budget
 *   at the image's aspect ratio floored to a multiple of 16;
 * - `measured`: a measured render (1024x768 at 720P → 1108x830): each side floored to an even number.
 * Neither can be checked from here, so the stage treats both as possible and reports the stored file's measured size.
 */
export type WanFrameRule = "official" | "measured";

/** Every frame rule, the documented one first. */
export const WAN_FRAME_RULES: readonly WanFrameRule[] = ["official", "measured"];

const FRAME_STEP: Record<WanFrameRule, number> = { official: 16, measured: 2 };

/**
 * The frame size the model produces for an image of the given size at a tier, by one rule (default the documented
 * one): the tier's pixel budget at the image's aspect ratio, each side floored to the rule's step.
 */
export function predictOutputSize(
  resolution: WanResolution,
  imageWidth: number,
  imageHeight: number,
  rule: WanFrameRule = "official",
): { width: number; height: number } {
  const pixels = WAN_TIERS[resolution].pixels;
  const step = FRAME_STEP[rule];
  // Multiplying before dividing keeps exact budgets exact (1280x720 at 720P is 1280 wide, not 1279.9999).
  const floorToStep = (value: number) => Math.max(step, step * Math.floor(value / step + 1e-9));
  return {
    width: floorToStep(Math.sqrt((pixels * imageWidth) / imageHeight)),
    height: floorToStep(Math.sqrt((pixels * imageHeight) / imageWidth)),
  };
}

/** The distinct frame sizes the rules predict for an image at a tier, the documented rule's first. */
export function possibleOutputSizes(
  resolution: WanResolution,
  imageWidth: number,
  imageHeight: number,
): Array<{ width: number; height: number }> {
  const sizes: Array<{ width: number; height: number }> = [];
  for (const rule of WAN_FRAME_RULES) {
    const size = predictOutputSize(resolution, imageWidth, imageHeight, rule);
    if (!sizes.some((known) => known.width === size.width && known.height === size.height)) sizes.push(size);
  }
  return sizes;
}
