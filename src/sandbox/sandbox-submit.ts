import { randomInt } from "node:crypto";
import { z } from "zod";
import {
  WAN_DURATION_SECONDS,
  WAN_MODEL,
  WAN_NEGATIVE_PROMPT_MAX_CHARS,
  WAN_PROMPT_MAX_CHARS,
  WAN_SEED_RANGE,
  type WanResolution,
} from "../contract/wan-model.ts";
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
  /** The shot type in effect: `shot_type` (default `single`) with prompt_extend, null without (the model ignores it). */
  shotType: "single" | "multi" | null;
  watermark: boolean;
  /** The seed sent, or the one the sandbox picked. */
  seed: number;
  /** `parameters` exactly as the client sent them, so tests can check what a client puts on the wire. */
  sentParameters: Record<string, unknown>;
  /** The keys of `input` the client sent. */
  sentInputKeys: string[];
  /**
   * With `parameterErrors: "fail-task"`: the first invalid parameter's message. The parameter then has its default,
   * and the task is created only to end FAILED with `InvalidParameter` and this message.
   */
  parameterError?: string;
}

/**
 * When the service reports an invalid `parameters` value: at submit (400 `InvalidParameter`, the most likely reading
 * and the default), or by accepting the task and ending it FAILED with `InvalidParameter` (the docs' own FAILED
 * example, "The size is not match xxxxxx", is a parameter error of that kind; dashscope.md 3.4).
 */
export type SandboxParameterErrors = "reject" | "fail-task";

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
  parameters: z.record(z.string(), z.unknown()).nullish(),
});

/** Each documented parameter on its own, so that one invalid value can be reported (or replaced) alone. */
const parameterSchemas = {
  resolution: z.enum(["720P", "1080P"]),
  duration: z.int().min(WAN_DURATION_SECONDS.min).max(WAN_DURATION_SECONDS.max),
  prompt_extend: z.boolean(),
  shot_type: z.enum(["single", "multi"]),
  audio: z.boolean(),
  watermark: z.boolean(),
  seed: z.int().min(WAN_SEED_RANGE.min).max(WAN_SEED_RANGE.max),
} as const;
type ParameterName = keyof typeof parameterSchemas;
type ParameterValues = { [name in ParameterName]?: z.infer<(typeof parameterSchemas)[name]> };

const invalid = (message: string) => new SandboxApiError(400, "InvalidParameter", message);
const invalidParameterMessage = (name: string) =>
  `Required parameter(${name}) missing or invalid, please check the request parameters.`;

/** Cuts text to a number of characters (code points), as the service does instead of rejecting it. */
const truncate = (text: string | null | undefined, maxChars: number) =>
  text == null ? null : Array.from(text).slice(0, maxChars).join("");

/**
 * Validates a submit body with the service's codes and message style; throws `SandboxApiError`. Invalid
 * `parameters` are thrown too, unless `parameterErrors` is `fail-task`: then the first one is returned as
 * `parameterError` and the parameter takes its default.
 */
export function validateSubmitBody(
  rawBody: string,
  options: { parameterErrors?: SandboxParameterErrors } = {},
): ValidatedSubmit {
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
    throw invalid(invalidParameterMessage(name));
  }

  const { input } = parsed.data;
  const sent = parsed.data.parameters ?? {};
  const parameters: ParameterValues = {};
  let parameterError: string | undefined;
  for (const name of Object.keys(parameterSchemas) as ParameterName[]) {
    if (sent[name] === undefined) continue;
    const value = parameterSchemas[name].safeParse(sent[name]);
    if (value.success) {
      (parameters as Record<string, unknown>)[name] = value.data;
      continue;
    }
    const message = invalidParameterMessage(`parameters.${name}`);
    if (options.parameterErrors !== "fail-task") throw invalid(message);
    parameterError ??= message;
  }

  const promptExtend = parameters.prompt_extend ?? true;
  const validated: ValidatedSubmit = {
    model: WAN_MODEL,
    imgUrl: input.img_url,
    prompt: truncate(input.prompt, WAN_PROMPT_MAX_CHARS),
    negativePrompt: truncate(input.negative_prompt, WAN_NEGATIVE_PROMPT_MAX_CHARS),
    resolution: parameters.resolution ?? "1080P",
    duration: parameters.duration ?? WAN_DURATION_SECONDS.default,
    audio: parameters.audio ?? true,
    promptExtend,
    // "Effective only when prompt_extend=true" (dashscope.md 2.2): validated either way, ignored without it.
    shotType: promptExtend ? (parameters.shot_type ?? "single") : null,
    watermark: parameters.watermark ?? false,
    seed: parameters.seed ?? randomInt(WAN_SEED_RANGE.max),
    sentParameters: { ...sent },
    sentInputKeys: Object.keys(record.input as object),
  };
  if (parameterError) validated.parameterError = parameterError;
  return validated;
}
