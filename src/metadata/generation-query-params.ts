import { z } from "zod";
import { describeValue, GENERATION_ID_PATTERN } from "../contract/video-generate-request.ts";
import { InputError } from "../errors/input-error.ts";
import { isVideoGenerationError } from "../errors/video-generation-error.ts";
import { decodeGenerationCursor } from "./generation-cursor.ts";
import { PAGE_LIMIT_MAX } from "./generation-queries.ts";
import { GENERATION_QUERY_MAX_IDS, type GenerationQuery } from "./generation-query.ts";
import type { GenerationStatus } from "./generation-record.ts";

/**
 * A gallery URL's filters and paging, as {@link parseGenerationQuery} reads them and {@link toSearchParams} writes
 * them back. Absent fields were not in the URL (or were empty, as an unfilled form field sends them).
 */
export interface GenerationQueryParams {
  query: GenerationQuery;
  /** `cursor`: where the previous page ended (already checked to be a cursor). */
  cursor?: string;
  /** `limit`: records per page, 1..200. */
  limit?: number;
  /** `group`: the correlation key to group by. */
  groupKey?: string;
  /**
   * `from` / `to` as written when they were relative (`24h`): links keep "the last 24 hours", which moves with time,
   * instead of the fixed instant it meant when this URL was read.
   */
  relative?: { from?: string; to?: string };
}

/** The URL parameters read, in the order {@link toSearchParams} writes them. Others are ignored. */
export const GENERATION_QUERY_PARAMETERS = [
  "status",
  "from",
  "to",
  "correlation",
  "q",
  "seed",
  "id",
  "group",
  "limit",
  "cursor",
] as const;

const STATUSES: readonly GenerationStatus[] = [
  "pending",
  "submitted",
  "copying",
  "attached",
  "succeeded",
  "failed",
  "canceled",
];
const RELATIVE_TIME = /^(\d{1,6}(?:\.\d{1,3})?)([smhdw])$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/** A calendar date first: Date.parse alone takes "1" or "May 3" too. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/;
/** Longest correlation key or group key (a correlation object is at most 4 KiB in all). */
const KEY_MAX_CHARS = 256;
/** Longest prompt search (a prompt has at most 1500 characters). */
const PROMPT_TEXT_MAX_CHARS = 1500;

type Converted<T> = { value: T } | { error: string };

/**
 * One parameter: all its values (a repeated parameter has several) turned into `T`, or an issue that names the
 * parameter and the rule. Empty values count as absent.
 */
function parameter<T>(convert: (values: string[]) => Converted<T> | undefined) {
  return z.array(z.string()).transform((values, ctx): T | undefined => {
    const present = values.map((value) => value.trim()).filter((value) => value !== "");
    if (present.length === 0) return undefined;
    const converted = convert(present);
    if (converted === undefined) return undefined;
    if ("error" in converted) {
      ctx.addIssue({ code: "custom", message: converted.error });
      return z.NEVER;
    }
    return converted.value;
  });
}

/** A parameter that may be given once. */
function single<T>(name: string, convert: (text: string) => Converted<T>) {
  return parameter((values) =>
    values.length > 1
      ? { error: `${name} may be given once; got ${values.length} values` }
      : convert(values[0] as string),
  );
}

function withoutNul(name: string, text: string): string | undefined {
  // PostgreSQL cannot take a NUL character in text at all: refused here, with a reason, not by the database.
  return text.includes("\u0000") ? `${name} must not contain NUL characters` : undefined;
}

function key(name: string, text: string): Converted<string> {
  const problem = withoutNul(name, text);
  if (problem) return { error: problem };
  if ([...text].length > KEY_MAX_CHARS) {
    return { error: `${name} key must be at most ${KEY_MAX_CHARS} characters; got ${describeValue(text)}` };
  }
  return { value: text };
}

function time(name: string, now: Date) {
  return single(name, (text): Converted<{ at: Date; relative?: string }> => {
    const relative = RELATIVE_TIME.exec(text);
    if (relative) {
      const ago = Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
      return { value: { at: new Date(now.getTime() - ago), relative: text } };
    }
    const absolute = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(absolute)) {
      return {
        error:
          `${name} must be a time before now such as 30m, 24h, 7d or 2w, or an ISO 8601 time such as ` +
          `2026-12-01 or 2026-12-01T08:00Z; got ${describeValue(text)}`,
      };
    }
    return { value: { at: new Date(absolute) } };
  });
}

/**
 * The zod schema of the gallery's URL parameters: an object of every parameter's values (`searchParams.getAll`)
 * to {@link GenerationQueryParams}. Relative times count back from `now`. Issues carry the parameter's name as
 * their path and a message that names the parameter, the rule and the value received.
 */
export function generationQueryParamsSchema(now: Date) {
  return z
    .object({
      status: parameter((values): Converted<GenerationStatus[]> => {
        const statuses = values.flatMap((value) => value.split(",")).map((value) => value.trim());
        const unknown = statuses.find(
          (status) => status !== "" && !STATUSES.includes(status as GenerationStatus),
        );
        if (unknown !== undefined) {
          return {
            error: `status must be one of ${STATUSES.join(", ")} (repeated or comma-separated); got ${describeValue(unknown)}`,
          };
        }
        const chosen = [...new Set(statuses.filter((status) => status !== ""))] as GenerationStatus[];
        return { value: chosen };
      }),
      from: time("from", now),
      to: time("to", now),
      correlation: single("correlation", (text): Converted<{ key: string; value?: string }> => {
        const separator = text.indexOf("=");
        const name = separator < 0 ? text : text.slice(0, separator);
        if (name.trim() === "") {
          return { error: `correlation must be key=value or key; got ${describeValue(text)}` };
        }
        const checked = key("correlation", name);
        if ("error" in checked) return checked;
        if (separator < 0) return { value: { key: name } };
        const value = text.slice(separator + 1);
        const problem = withoutNul("correlation", value);
        return problem ? { error: problem } : { value: { key: name, value } };
      }),
      q: single("q", (text): Converted<string> => {
        const problem = withoutNul("q", text);
        if (problem) return { error: problem };
        if ([...text].length > PROMPT_TEXT_MAX_CHARS) {
          return {
            error: `q must be at most ${PROMPT_TEXT_MAX_CHARS} characters; got ${describeValue(text)}`,
          };
        }
        return { value: text };
      }),
      seed: single("seed", (text): Converted<number> => {
        const seed = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
        return Number.isSafeInteger(seed)
          ? { value: seed }
          : {
              error: `seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}; got ${describeValue(text)}`,
            };
      }),
      id: parameter((values): Converted<string[]> => {
        // Ids never contain commas, so `id=a,b` is read like `id=a&id=b`.
        const ids = [
          ...new Set(values.flatMap((value) => value.split(",")).map((value) => value.trim())),
        ].filter((id) => id !== "");
        const invalid = ids.find((id) => !GENERATION_ID_PATTERN.test(id));
        if (invalid !== undefined) {
          return {
            error: `id must be a generation id (1 to 128 letters, digits, '.', '_', ':' or '-'); got ${describeValue(invalid)}`,
          };
        }
        if (ids.length > GENERATION_QUERY_MAX_IDS) {
          return { error: `id may name at most ${GENERATION_QUERY_MAX_IDS} generations; got ${ids.length}` };
        }
        return { value: ids };
      }),
      group: single("group", (text) => key("group", text)),
      limit: single("limit", (text): Converted<number> => {
        const limit = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
        return limit >= 1 && limit <= PAGE_LIMIT_MAX
          ? { value: limit }
          : { error: `limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}; got ${describeValue(text)}` };
      }),
      cursor: single("cursor", (text): Converted<string> => {
        try {
          decodeGenerationCursor(text);
          return { value: text };
        } catch (error) {
          if (!isVideoGenerationError(error)) throw error;
          return { error: error.message };
        }
      }),
    })
    .superRefine((raw, ctx) => {
      if (raw.from && raw.to && raw.from.at.getTime() >= raw.to.at.getTime()) {
        ctx.addIssue({
          code: "custom",
          path: ["to"],
          message: `to must be later than from; got from ${raw.from.at.toISOString()} and to ${raw.to.at.toISOString()}`,
        });
      }
    })
    .transform((raw): GenerationQueryParams => {
      const query: GenerationQuery = {};
      if (raw.status && raw.status.length > 0) query.statuses = raw.status;
      if (raw.from) query.from = raw.from.at;
      if (raw.to) query.to = raw.to.at;
      if (raw.correlation) query.correlation = raw.correlation;
      if (raw.q !== undefined) query.promptText = raw.q;
      if (raw.seed !== undefined) query.seed = raw.seed;
      if (raw.id && raw.id.length > 0) query.ids = raw.id;
      const parsed: GenerationQueryParams = { query };
      if (raw.cursor !== undefined) parsed.cursor = raw.cursor;
      if (raw.limit !== undefined) parsed.limit = raw.limit;
      if (raw.group !== undefined) parsed.groupKey = raw.group;
      const relative = { from: raw.from?.relative, to: raw.to?.relative };
      if (relative.from !== undefined || relative.to !== undefined) {
        parsed.relative = Object.fromEntries(
          Object.entries(relative).filter(([, text]) => text !== undefined),
        );
      }
      return parsed;
    });
}

/**
 * Reads the gallery's filters from a URL's parameters: `status` (repeated or comma-separated), `from` and `to` (ISO
 * 8601, or relative to now: `30m`, `24h`, `7d`, `2w`), `correlation` (`key=value` or `key`), `q` (prompt words),
 * `seed`, `id` (repeated, at most 50), `cursor`, `limit` (1..200) and `group` (a correlation key). Empty values are
 * absent; unknown parameters are ignored.
 * @throws InputError with one issue per offending parameter, each naming the parameter and its rule.
 */
export function parseGenerationQuery(
  searchParams: URLSearchParams,
  options: { now?: Date } = {},
): GenerationQueryParams {
  const raw = Object.fromEntries(
    GENERATION_QUERY_PARAMETERS.map((name) => [name, searchParams.getAll(name)]),
  );
  const parsed = generationQueryParamsSchema(options.now ?? new Date()).safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new InputError(
    parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? "query"), message: issue.message })),
    { cause: parsed.error },
  );
}

/**
 * The URL parameters that {@link parseGenerationQuery} reads back as `params` (relative times stay relative), for
 * links that keep the filters: a next page, a status chip, a group's row. Statuses and ids are repeated parameters,
 * as a form's checkboxes send them.
 */
export function toSearchParams(params: GenerationQueryParams): URLSearchParams {
  const { query } = params;
  const search = new URLSearchParams();
  for (const status of query.statuses ?? []) search.append("status", status);
  if (query.from) search.set("from", params.relative?.from ?? query.from.toISOString());
  if (query.to) search.set("to", params.relative?.to ?? query.to.toISOString());
  if (query.correlation) {
    const { key: name, value } = query.correlation;
    search.set("correlation", value === undefined ? name : `${name}=${value}`);
  }
  if (query.promptText !== undefined && query.promptText.trim() !== "") search.set("q", query.promptText);
  if (query.seed !== undefined) search.set("seed", String(query.seed));
  for (const id of query.ids ?? []) search.append("id", id);
  if (params.groupKey !== undefined) search.set("group", params.groupKey);
  if (params.limit !== undefined) search.set("limit", String(params.limit));
  if (params.cursor !== undefined) search.set("cursor", params.cursor);
  return search;
}
