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
 * The frame size the model produces for an image of the given size at a tier: the tier's pixel budget at the
 * image's aspect ratio, each side floored to an even number. A measured 1024x768 input at 720P gave 1108x830,
 * which this reproduces (dashscope.md 2.4).
 */
export function predictOutputSize(
  resolution: WanResolution,
  imageWidth: number,
  imageHeight: number,
): { width: number; height: number } {
  const aspect = imageWidth / imageHeight;
  const pixels = WAN_TIERS[resolution].pixels;
  const floorEven = (value: number) => Math.max(2, 2 * Math.floor(value / 2));
  return { width: floorEven(Math.sqrt(pixels * aspect)), height: floorEven(Math.sqrt(pixels / aspect)) };
}
