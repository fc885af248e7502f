import { z } from "zod";
import {
  WAN_DURATION_SECONDS,
  WAN_MODEL,
  WAN_NEGATIVE_PROMPT_MAX_CHARS,
  WAN_PROMPT_MAX_CHARS,
  WAN_SEED_RANGE,
} from "./wan-model.ts";

/** What the stage does with a requested value the model cannot honour: see docs/policies.md. */
export const unsupportedPolicySchema = z.enum(["warn", "strict", "conform"]);
export type UnsupportedPolicy = z.infer<typeof unsupportedPolicySchema>;

/** `use` reads and writes the result cache, `refresh` regenerates and overwrites, `bypass` neither reads nor writes. */
export const cacheModeSchema = z.enum(["use", "refresh", "bypass"]);
export type CacheMode = z.infer<typeof cacheModeSchema>;

/** Largest accepted `correlation` object, serialized: it travels in every event and record. */
export const CORRELATION_MAX_BYTES = 4096;

/**
 * Largest request, serialized as JSON: Inngest's event API refuses events over 3 MiB (`consts.AbsoluteMaxEventSize`),
 * and the request is an event's data; 1 KiB is left for the envelope (name, id, ts). Inngest Cloud's free plan
 * allows only 256 KiB per event.
 */
export const REQUEST_MAX_BYTES = 3 * 1024 * 1024 - 1024;

/** How a large image reaches the stage instead of inline. */
const LARGE_IMAGE_ADVICE =
  "pass the image as an https URL or an s3://bucket/key (or a local path to the CLI) instead of a data: URI";

/** Client generation ids: 1-128 of letters, digits, `.`, `_`, `:`, `-`, starting with a letter or digit. */
export const GENERATION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Size of `W*H` / `WxH` strings: each side a whole number of pixels in this range. */
export const SIZE_SIDE_RANGE = { min: 64, max: 4096 } as const;

const SIZE_PATTERN = /^\s*(\d{1,5})\s*[*xX×]\s*(\d{1,5})\s*$/;

/** Prints a received value inside an error message: short, and never a whole data URI. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(shown)} (${[...value].length} characters)`;
  }
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}

const characterCount = (text: string) => [...text].length;

/**
 * Text the provider must never see: control characters (PostgreSQL cannot even store NUL), bidirectional overrides
 * and isolates (they reorder what a person reads), and unpaired surrogates (not valid Unicode).
 */
const UNSAFE_TEXT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point of this pattern.
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]|[\uD800-\uDFFF]/u;
const safeText = (field: string) =>
  [
    (text: string) => !UNSAFE_TEXT.test(text),
    {
      error: () =>
        `${field} must not contain control characters, bidirectional overrides or unpaired surrogates`,
    },
  ] as const;

/** Builds a zod error callback whose message reads `<field> must <rule>; got <value>`. */
const rule = (field: string, text: string) => (issue: { input?: unknown }) =>
  `${field} must ${text}; got ${describeValue(issue.input)}`;

const wholeNumberIn = (field: string, min: number, max: number, unit = "") =>
  z
    .number({ error: rule(field, `be a whole number${unit} from ${min} to ${max}`) })
    .int({ error: rule(field, `be a whole number${unit} from ${min} to ${max}`) })
    .min(min, { error: rule(field, `be a whole number${unit} from ${min} to ${max}`) })
    .max(max, { error: rule(field, `be a whole number${unit} from ${min} to ${max}`) });

/** Parses `1280*720`, `1280x720` or `1280×720`; undefined when the text is not of that form. */
export function parseSize(size: string): { width: number; height: number } | undefined {
  const match = SIZE_PATTERN.exec(size);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}

const sizeSchema = z
  .string({ error: rule("size", 'be a string "W*H" such as "1280*720"') })
  .check((context) => {
    const parsed = parseSize(context.value);
    const { min, max } = SIZE_SIDE_RANGE;
    if (!parsed || parsed.width < min || parsed.width > max || parsed.height < min || parsed.height > max) {
      context.issues.push({
        code: "custom",
        input: context.value,
        message: `size must be "W*H" (or "WxH") with width and height whole numbers of pixels from ${min} to ${max}; got ${describeValue(context.value)}`,
      });
    }
  });

const correlationSchema = z
  .record(z.string(), z.json(), { error: rule("correlation", "be a JSON object") })
  .check((context) => {
    const json = JSON.stringify(context.value);
    // PostgreSQL's jsonb cannot hold NUL; refuse it here rather than fail the record later.
    if (json.includes("\\u0000")) {
      context.issues.push({
        code: "custom",
        input: context.value,
        message: "correlation must not contain NUL characters",
      });
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > CORRELATION_MAX_BYTES) {
      context.issues.push({
        code: "custom",
        input: context.value,
        message: `correlation must serialize to at most ${CORRELATION_MAX_BYTES} bytes; got ${bytes} bytes`,
      });
    }
  });

const referenceImageSchema = z
  .string({
    error: rule(
      "reference_image",
      "be an https URL, a data: URI, an s3://bucket/key URI or a local path (bytes only through the in-process API)",
    ),
  })
  .min(1, { error: rule("reference_image", "not be empty") })
  .max(REQUEST_MAX_BYTES, {
    error: (issue) =>
      `reference_image must be at most ${REQUEST_MAX_BYTES} characters, what one Inngest event can carry (3 MiB); got ${String((issue.input as string | undefined)?.length ?? "more")} characters: ${LARGE_IMAGE_ADVICE}`,
  });

const audioUrlSchema = z
  .string({ error: rule("audio_url", "be an http(s) or oss:// URL of a wav or mp3 file") })
  .regex(/^(https?|oss):\/\/\S+$/i, {
    error: rule("audio_url", "be an http(s) or oss:// URL of a wav or mp3 file"),
  });

/**
 * The normalized `video.generate` request as it travels on the wire (snake_case), validated strictly: unknown fields
 * are rejected so that a misspelt option never silently falls back to a default. Defaults are applied by
 * `normalizeRequest`, not here, so the schema's input and output types stay the same (Inngest's `eventType` requires it).
 */
export const videoGenerateRequestSchema = z
  .strictObject(
    {
      /** What happens in the video. 1 to 1500 characters (code points); longer text is rejected, never truncated. */
      prompt: z
        .string({ error: rule("prompt", `be text of 1 to ${WAN_PROMPT_MAX_CHARS} characters`) })
        .refine((text) => text.trim().length > 0, {
          error: rule("prompt", "contain text, not only white space"),
        })
        .refine(...safeText("prompt"))
        .refine((text) => characterCount(text) <= WAN_PROMPT_MAX_CHARS, {
          error: (issue) =>
            `prompt must be at most ${WAN_PROMPT_MAX_CHARS} characters for ${WAN_MODEL} (the API would truncate it silently); got ${characterCount(String(issue.input))} characters`,
        }),
      /** What to avoid. At most 500 characters. */
      negative_prompt: z
        .string({
          error: rule("negative_prompt", `be text of at most ${WAN_NEGATIVE_PROMPT_MAX_CHARS} characters`),
        })
        .refine(...safeText("negative_prompt"))
        .refine((text) => characterCount(text) <= WAN_NEGATIVE_PROMPT_MAX_CHARS, {
          error: (issue) =>
            `negative_prompt must be at most ${WAN_NEGATIVE_PROMPT_MAX_CHARS} characters for ${WAN_MODEL} (the API would truncate it silently); got ${characterCount(String(issue.input))} characters`,
        })
        .optional(),
      /** Length of the video in whole seconds, 2 to 15. Default 5. */
      duration: z
        .number({
          error: rule(
            "duration",
            `be a whole number of seconds from ${WAN_DURATION_SECONDS.min} to ${WAN_DURATION_SECONDS.max} for ${WAN_MODEL}`,
          ),
        })
        .check((context) => {
          const { min, max } = WAN_DURATION_SECONDS;
          const value = context.value;
          if (!Number.isInteger(value) || value < min || value > max) {
            context.issues.push({
              code: "custom",
              input: value,
              message: `duration must be a whole number of seconds from ${min} to ${max} for ${WAN_MODEL}; got ${describeValue(value)}`,
            });
          }
        })
        .optional(),
      /** Requested frames per second (> 0, at most 240). The model renders 30; see `unsupported`. */
      fps: z
        .number({ error: rule("fps", "be a number of frames per second greater than 0 and at most 240") })
        .gt(0, { error: rule("fps", "be a number of frames per second greater than 0 and at most 240") })
        .max(240, { error: rule("fps", "be a number of frames per second greater than 0 and at most 240") })
        .optional(),
      /** Requested frame size `"W*H"` (`"WxH"` also accepted). Picks the 720P or 1080P tier by pixel count; default 720P. */
      size: sizeSchema.optional(),
      /** Seed, 0 to 2147483647. When absent the stage derives one from the request and reports it. */
      seed: wholeNumberIn("seed", WAN_SEED_RANGE.min, WAN_SEED_RANGE.max).optional(),
      /** The first frame: https URL, data: URI, s3://bucket/key, or a local path (CLI, or under REFERENCE_IMAGE_ROOT). */
      reference_image: referenceImageSchema,
      /** Requested amount of motion, 0 to 1. The model has no such control; see `unsupported`. */
      motion_strength: z
        .number({ error: rule("motion_strength", "be a number from 0 to 1") })
        .min(0, { error: rule("motion_strength", "be a number from 0 to 1") })
        .max(1, { error: rule("motion_strength", "be a number from 0 to 1") })
        .optional(),
      /** Generate a sound track. Default false: the API's default (true) doubles the price. */
      audio: z.boolean({ error: rule("audio", "be true or false") }).optional(),
      /** Sound to use instead of generated sound (wav/mp3, 3-30 s). Ignored by the API when `audio` is false. */
      audio_url: audioUrlSchema.optional(),
      /** Let the provider rewrite the prompt with an LLM. API default true. */
      prompt_extend: z.boolean({ error: rule("prompt_extend", "be true or false") }).optional(),
      /** `single` or `multi` shot; effective only with prompt_extend. API default `single`. */
      shot_type: z
        .enum(["single", "multi"], { error: rule("shot_type", 'be "single" or "multi"') })
        .optional(),
      /** Add the provider's "AI生成" mark. API default false. */
      watermark: z.boolean({ error: rule("watermark", "be true or false") }).optional(),
      /** Client id for idempotency and correlation: 1-128 of letters, digits, `.`, `_`, `:`, `-`. Generated if absent. */
      generation_id: z
        .string({ error: rule("generation_id", "be 1 to 128 letters, digits, '.', '_', ':' or '-'") })
        .regex(GENERATION_ID_PATTERN, {
          error: rule(
            "generation_id",
            "be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
          ),
        })
        .optional(),
      /** Small JSON object passed untouched to the completion events (pipeline run, shot, ...). At most 4 KiB. */
      correlation: correlationSchema.optional(),
      /** Result cache mode. Default `use`. */
      cache: z
        .enum(cacheModeSchema.options, { error: rule("cache", 'be "use", "refresh" or "bypass"') })
        .optional(),
      /** Policy for fps, size and motion_strength. Default from configuration (`warn`). */
      unsupported: z
        .enum(unsupportedPolicySchema.options, {
          error: rule("unsupported", 'be "warn", "strict" or "conform"'),
        })
        .optional(),
    },
    {
      error: (issue) => {
        if (issue.code === "unrecognized_keys") {
          const keys = (issue as { keys?: string[] }).keys ?? [];
          return `unknown field${keys.length > 1 ? "s" : ""} ${keys.join(", ")}: the request accepts prompt, negative_prompt, duration, fps, size, seed, reference_image, motion_strength, audio, audio_url, prompt_extend, shot_type, watermark, generation_id, correlation, cache, unsupported`;
        }
        return "the request must be a JSON object";
      },
    },
  )
  .check((context) => {
    // Only the whole request can overflow the event: the image alone is checked with a field-level message above.
    const bytes = Buffer.byteLength(JSON.stringify(context.value));
    if (bytes > REQUEST_MAX_BYTES) {
      context.issues.push({
        code: "custom",
        input: context.value,
        path: /^data:/i.test(context.value.reference_image) ? ["reference_image"] : [],
        message: `the request is ${bytes} bytes as JSON, more than one Inngest event can carry (${REQUEST_MAX_BYTES} bytes): ${LARGE_IMAGE_ADVICE}`,
      });
    }
  });

/** A request as sent by a client (every optional field may be absent). */
export type VideoGenerateRequest = z.infer<typeof videoGenerateRequestSchema>;
