import { InputError } from "../errors/input-error.ts";
import type { GenerationStatus } from "./generation-record.ts";
import type { SqlClient } from "./sql-client.ts";

/** Most generation ids one query may name (the compare view's chosen set). */
export const GENERATION_QUERY_MAX_IDS = 50;

/**
 * Which generations a gallery page, its totals or its groups cover. Every field narrows the set; an absent field
 * does not filter. Times are compared with the record's `created_at`.
 */
export interface GenerationQuery {
  /** Any of these statuses; all when absent/empty. */
  statuses?: GenerationStatus[];
  /** created_at >= from */
  from?: Date;
  /** created_at < to */
  to?: Date;
  /**
   * The correlation object has this key; with `value`, the key's value is this string (a number or boolean value
   * matches its JSON text: `{ shot: 3 }` matches `value: "3"`, as the groups show it).
   */
  correlation?: { key: string; value?: string };
  /**
   * Words of the prompt: case-insensitive, every word must start a word of the prompt (`sun` finds "sunset").
   * Punctuation separates words; text with no word at all matches nothing.
   */
  promptText?: string;
  /** The seed used (result.seed, or request.seed before a result). */
  seed?: number;
  /** Exactly these generation ids (the compare view's chosen set), at most {@link GENERATION_QUERY_MAX_IDS}. */
  ids?: string[];
}

/** A {@link GenerationQuery} checked and made ready for SQL (its prompt words already turned into a tsquery). */
export interface PreparedGenerationQuery {
  /**
   * The condition (for `WHERE`) selecting the query's generations, its parameters appended to `params` (numbered
   * after those already there). Everything the caller sent travels as a parameter, never as SQL text.
   */
  where(params: unknown[]): string;
}

/**
 * Checks a query and resolves its prompt words (one small statement, only when there are some).
 * @throws InputError for a query no URL could produce (too many ids, a seed that is not a whole number).
 */
export async function prepareGenerationQuery(
  sql: SqlClient,
  query: GenerationQuery,
): Promise<PreparedGenerationQuery> {
  if (query.seed !== undefined && !Number.isSafeInteger(query.seed)) {
    throw InputError.forField("seed", `seed must be a whole number; got ${query.seed}`);
  }
  if (query.ids !== undefined && new Set(query.ids).size > GENERATION_QUERY_MAX_IDS) {
    throw InputError.forField(
      "id",
      `id may name at most ${GENERATION_QUERY_MAX_IDS} generations; got ${new Set(query.ids).size}`,
    );
  }
  const promptQuery = query.promptText === undefined ? undefined : await promptTsquery(sql, query.promptText);
  return {
    where(params) {
      const parameter = (value: unknown) => `$${params.push(value)}`;
      const conditions: string[] = [];
      if (query.statuses && query.statuses.length > 0) {
        conditions.push(`status IN (${[...new Set(query.statuses)].map(parameter).join(", ")})`);
      }
      if (query.from !== undefined)
        conditions.push(`created_at >= ${parameter(query.from.toISOString())}::timestamptz`);
      if (query.to !== undefined)
        conditions.push(`created_at < ${parameter(query.to.toISOString())}::timestamptz`);
      if (query.correlation !== undefined) {
        const { key, value } = query.correlation;
        conditions.push(
          value === undefined
            ? `correlation ? ${parameter(key)}`
            : correlationValuesCondition(key, [value], parameter),
        );
      }
      // Text with no word at all matches nothing.
      if (promptQuery !== undefined) {
        conditions.push(
          promptQuery === null ? "false" : `prompt_search @@ ${parameter(promptQuery)}::tsquery`,
        );
      }
      if (query.seed !== undefined) conditions.push(`seed = ${parameter(query.seed)}::bigint`);
      if (query.ids !== undefined) {
        // An empty set selects nothing (a compare view with nothing chosen), not everything.
        conditions.push(
          query.ids.length === 0
            ? "false"
            : `generation_id IN (${[...new Set(query.ids)].map(parameter).join(", ")})`,
        );
      }
      return conditions.length > 0 ? conditions.join(" AND ") : "true";
    },
  };
}

/**
 * Records whose correlation holds `key` with one of `values`, each compared as text (`correlation ->> key`, so a
 * number 3 is "3"). Containment (`@>`) lets the jsonb_path_ops index find them; a value given as text is also tried
 * as the JSON it may be stored as (a number, a boolean, an object), and the final `->>` comparison makes the match
 * exact (containment alone would let `{"a":1}` match a larger object).
 */
export function correlationValuesCondition(
  key: string,
  values: string[],
  parameter: (value: unknown) => string,
): string {
  const candidates = values.flatMap((value) => {
    const asJson = parseJson(value);
    return [{ [key]: value }, ...(asJson === undefined ? [] : [{ [key]: asJson }])];
  });
  const contained = candidates.map(
    (candidate) => `correlation @> ${parameter(JSON.stringify(candidate))}::text::jsonb`,
  );
  return `(${contained.join(" OR ")}) AND correlation ->> ${parameter(key)} IN (${values.map(parameter).join(", ")})`;
}

/** The JSON a text may be (`3`, `true`, `{"a": 1}`), or undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The prompt words as a prefix tsquery (`'boat':* & 'sun':*`), or null when the text holds no word. PostgreSQL
 * splits the text, so it is split exactly as the indexed prompts were (the default parser with `simple`, `<>&` made
 * spaces); a hyphenated word is searched by its parts (the index holds both the whole and the parts). Resolved
 * before the page's statement so the planner sees the words: a frequent one is read along the newest-first index,
 * a rare one through the GIN index.
 */
async function promptTsquery(sql: SqlClient, text: string): Promise<string | null> {
  const { rows } = await sql.query<{ query: string | null }>(
    `SELECT string_agg('''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || ''':*', ' & ' ORDER BY lexeme)
       AS query
     FROM (SELECT DISTINCT unnest(lexemes) AS lexeme
           FROM ts_debug('simple', translate($1::text, '<>&', '   '))
           WHERE alias NOT IN ('asciihword', 'hword', 'numhword')) AS words`,
    [text],
  );
  return rows[0]?.query ?? null;
}
