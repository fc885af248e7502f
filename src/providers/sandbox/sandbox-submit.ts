import { randomInt } from "node:crypto";
import { z } from "zod";
import {
  WAN_DURATION_SECONDS,
  WAN_MODEL,
  WAN_NEGATIVE_PROMPT_MAX_CHARS,
  WAN_PROMPT_MAX_CHARS,
  WAN_SEED_RANGE,
  type WanResolution,
} from "../../contract/wan-model.ts";
import { SandboxApiError } from "./sandbox-http.ts";

/** A submit body that passed validation, with the API defaults applied (dashscope.md 2). */
export interface ValidatedSubmit {
  model: string;
  /** The image as sent: a data: URI, an oss:// key or an http(s) URL (resolved by the server). */
  imgUrl: string;
  /** Prompt after truncation to 1500 characters; null when absent. */
  prompt: string | null;
  /** Negative prompt after truncation to 500 characters; null when absent. */
  negativePrompt: string | null;
  resolution: WanResolution;
  /** Whole seconds. */
  duration: number;
  audio: boolean;
  promptExtend: boolean;
  shotType: "single" | "multi";
  watermark: boolean;
  /** The seed sent, or the one the sandbox picked. */
  seed: number;
  /** `parameters` exactly as the client sent them, so tests can check what a client puts on the wire. */
  sentParameters: Record<string, unknown>;
  /** The keys of `input` the client sent. */
  sentInputKeys: string[];
}

const optionalText = z.string().nullish();

// Unknown `input` and `parameters` keys are ignored, as the real service ignores the SDK's extend_prompt/function.
const submitBodySchema = z.object({
  model: z.string(),
  input: z.object({
    img_url: z.string().min(1),
    prompt: optionalText,
    negative_prompt: optionalText,
    audio_url: optionalText,
  }),
  parameters: z
    .object({
      resolution: z.enum(["720P", "1080P"]).optional(),
      duration: z.int().min(WAN_DURATION_SECONDS.min).max(WAN_DURATION_SECONDS.max).optional(),
      prompt_extend: z.boolean().optional(),
      shot_type: z.enum(["single", "multi"]).optional(),
      audio: z.boolean().optional(),
      watermark: z.boolean().optional(),
      seed: z.int().min(WAN_SEED_RANGE.min).max(WAN_SEED_RANGE.max).optional(),
    })
    .nullish(),
});

const invalid = (message: string) => new SandboxApiError(400, "InvalidParameter", message);

/** Cuts text to a number of characters (code points), as the service does instead of rejecting it. */
const truncate = (text: string | null | undefined, maxChars: number) =>
  text == null ? null : Array.from(text).slice(0, maxChars).join("");

/** Validates a submit body with the service's codes and message style; throws `SandboxApiError`. */
export function validateSubmitBody(rawBody: string): ValidatedSubmit {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new SandboxApiError(400, "BadRequest.IllegalInput", "The input is not in valid json format.");
  }
  const record = body as Record<string, unknown>;
  if (record.model === undefined || record.model === null || record.model === "") {
    throw new SandboxApiError(
      400,
      "BadRequest.EmptyModel",
      'Required parameter "model" missing from request.',
    );
  }
  if (record.model !== WAN_MODEL) throw invalid("Model not exist.");
  if (typeof record.input !== "object" || record.input === null) {
    throw new SandboxApiError(400, "BadRequest.EmptyInput", "Required input parameter missing from request.");
  }

  const parsed = submitBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join(".") ?? "body";
    if (name === "input.img_url" && (record.input as Record<string, unknown>).img_url == null) {
      throw invalid("Field required: input.img_url");
    }
    if (name.startsWith("input.")) throw invalid(`Input should be a valid string: ${name}`);
    throw invalid(`Required parameter(${name}) missing or invalid, please check the request parameters.`);
  }

  const { input } = parsed.data;
  const parameters = parsed.data.parameters ?? {};
  return {
    model: WAN_MODEL,
    imgUrl: input.img_url,
    prompt: truncate(input.prompt, WAN_PROMPT_MAX_CHARS),
    negativePrompt: truncate(input.negative_prompt, WAN_NEGATIVE_PROMPT_MAX_CHARS),
    resolution: parameters.resolution ?? "1080P",
    duration: parameters.duration ?? WAN_DURATION_SECONDS.default,
    audio: parameters.audio ?? true,
    promptExtend: parameters.prompt_extend ?? true,
    shotType: parameters.shot_type ?? "single",
    watermark: parameters.watermark ?? false,
    seed: parameters.seed ?? randomInt(WAN_SEED_RANGE.max),
    sentParameters: { ...((record.parameters as Record<string, unknown> | null | undefined) ?? {}) },
    sentInputKeys: Object.keys(record.input as object),
  };
}
