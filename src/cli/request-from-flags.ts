import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { InputError } from "../errors/input-error.ts";

/** The request flags shared by `generate` and `send`, as commander parses them (strings until checked here). */
export interface RequestFlags {
  image?: string;
  prompt?: string;
  negativePrompt?: string;
  duration?: string;
  fps?: string;
  size?: string;
  seed?: string;
  motionStrength?: string;
  audio?: boolean;
  policy?: string;
  cache?: string;
  generationId?: string;
  /** `key=value` pairs for the request's correlation object. */
  correlation?: string[];
  /** A JSON file holding a request; flags override its fields. */
  request?: string;
}

/** A reference that is a URL or data URI (anything with a scheme), not a local path. */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Local paths become absolute (relative to `base`), so the request means the same file from any directory. */
export function absoluteImagePath(reference: string, base: string): string {
  return HAS_SCHEME.test(reference) ? reference : path.resolve(base, reference);
}

/** Parses a number flag strictly: the whole text must be a finite number, else an InputError naming the flag. */
function parseNumber(flag: string, field: string, text: string): number {
  const value = text.trim() === "" ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw InputError.forField(field, `--${flag} must be a number; got ${JSON.stringify(text)}`);
  }
  return value;
}

async function readRequestFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw InputError.forField("--request", `--request ${file} cannot be read: ${code}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw InputError.forField("--request", `--request ${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw InputError.forField("--request", `--request ${file} must hold a JSON object (the request)`);
  }
  const request = { ...(parsed as Record<string, unknown>) };
  // A relative image path in the file is relative to the file, as a reader of the file would expect.
  if (typeof request.reference_image === "string") {
    request.reference_image = absoluteImagePath(request.reference_image, path.dirname(path.resolve(file)));
  }
  return request;
}

function parseCorrelation(pairs: string[]): Record<string, string> {
  const correlation: Record<string, string> = {};
  for (const pair of pairs) {
    const separator = pair.indexOf("=");
    if (separator <= 0) {
      throw InputError.forField(
        "correlation",
        `--correlation must be key=value; got ${JSON.stringify(pair)}`,
      );
    }
    correlation[pair.slice(0, separator)] = pair.slice(separator + 1);
  }
  return correlation;
}

/**
 * Builds the snake_case request from `--request` (if given) and the flags, flags winning. Numbers are parsed strictly
 * here; every other rule is the request schema's, applied by the stage's `validate` step.
 */
export async function requestFromFlags(
  flags: RequestFlags,
  cwd: string = process.cwd(),
): Promise<Record<string, unknown>> {
  const request = flags.request ? await readRequestFile(flags.request) : {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) request[field] = value;
  };
  set("reference_image", flags.image === undefined ? undefined : absoluteImagePath(flags.image, cwd));
  set("prompt", flags.prompt);
  set("negative_prompt", flags.negativePrompt);
  set(
    "duration",
    flags.duration === undefined ? undefined : parseNumber("duration", "duration", flags.duration),
  );
  set("fps", flags.fps === undefined ? undefined : parseNumber("fps", "fps", flags.fps));
  set("size", flags.size);
  set("seed", flags.seed === undefined ? undefined : parseNumber("seed", "seed", flags.seed));
  set(
    "motion_strength",
    flags.motionStrength === undefined
      ? undefined
      : parseNumber("motion-strength", "motion_strength", flags.motionStrength),
  );
  set("audio", flags.audio);
  set("unsupported", flags.policy);
  set("cache", flags.cache);
  set("generation_id", flags.generationId);
  if (flags.correlation && flags.correlation.length > 0) {
    const existing = request.correlation;
    const base =
      typeof existing === "object" && existing !== null && !Array.isArray(existing) ? existing : {};
    request.correlation = { ...base, ...parseCorrelation(flags.correlation) };
  }
  if (request.reference_image === undefined) {
    throw InputError.forField(
      "reference_image",
      "reference_image is required: pass --image <path|url> or a --request file",
    );
  }
  if (request.prompt === undefined) {
    throw InputError.forField("prompt", "prompt is required: pass --prompt <text> or a --request file");
  }
  return request;
}

/** JSON with object keys sorted at every level, so equal requests give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([left], [right]) =>
            left < right ? -1 : left > right ? 1 : 0,
          ),
        )
      : item,
  );
}

/**
 * The generation id the CLI uses when none is given. With cache `use` it is derived from the request
 * (`cli-<20 hex of sha256(canonical request)>`), so running the same command again after a kill resumes the recorded
 * provider task instead of submitting (and paying) again. `refresh` and `bypass` ask for a new render each time: a
 * random id.
 */
export function defaultGenerationId(request: Record<string, unknown>): string {
  const cache = request.cache ?? "use";
  if (cache !== "use") return `cli-${randomUUID()}`;
  const digest = createHash("sha256").update(canonicalJson(request)).digest("hex");
  return `cli-${digest.slice(0, 20)}`;
}
