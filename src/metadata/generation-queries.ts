import { InputError } from "../errors/input-error.ts";
import { guard } from "./database-error.ts";
import { decodeGenerationCursor, encodeGenerationCursor } from "./generation-cursor.ts";
import {
  correlationValuesCondition,
  type GenerationQuery,
  type PreparedGenerationQuery,
  prepareGenerationQuery,
} from "./generation-query.ts";
import type { GenerationRecord, GenerationStatus, Totals } from "./generation-record.ts";
import { type GenerationRow, RECORD_COLUMNS, toRecord } from "./generation-row.ts";
import type { SqlClient } from "./sql-client.ts";

export type { GenerationQuery } from "./generation-query.ts";

/** Records per page when the caller names no limit. */
export const PAGE_LIMIT_DEFAULT = 24;
/** Most records one page returns; a larger limit is lowered to this. */
export const PAGE_LIMIT_MAX = 200;
/** Groups returned when the caller names no limit. */
export const GROUPS_LIMIT_DEFAULT = 50;
/** Most groups one call returns. */
export const GROUPS_LIMIT_MAX = 500;
/** Most ids one queue-position lookup takes (a page's in-flight cards). */
const QUEUE_IDS_MAX = 1000;
/** Recent records read per group asked for, to find the newest groups without grouping the whole history. */
const GROUP_WINDOW_PER_GROUP = 20;
const GROUP_WINDOW_MIN = 200;
const GROUP_WINDOW_MAX = 5000;

const ALL_STATUSES: readonly GenerationStatus[] = [
  "pending",
  "submitted",
  "copying",
  "attached",
  "succeeded",
  "failed",
  "canceled",
];

/** One page of generations, newest first. */
export interface GenerationPage {
  records: GenerationRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. Opaque base64url. */
  nextCursor: string | null;
}

/** {@link Totals} plus the count of every status (each status present, 0 when none). */
export type GenerationTotals = Totals & { byStatus: Record<string, number> };

/** The generations that share one value of a correlation key (a pipeline run's takes, a shot's versions). */
export interface CorrelationGroup {
  /** The correlation key grouped by. */
  key: string;
  /** The key's value as text (`correlation ->> key`: a number 3 is `"3"`); use it as the correlation filter's value. */
  value: string;
  /** Generations in the group (within the query's filter). */
  count: number;
  /** `created_at` of the group's newest generation, ISO 8601. */
  newestCreatedAt: string;
  /** The group's newest generation (newest `created_at`, then highest id). */
  newestGenerationId: string;
  newest: GenerationRecord;
  /** Totals of the group (within the query's filter). */
  totals: GenerationTotals;
}

/** The read side of the gallery and its JSON API: filtered pages, totals, correlation groups, queue places. */
export interface GenerationQueries {
  /**
   * Newest first (created_at DESC, generation_id DESC), keyset pagination: a page is one index range however deep,
   * and records added meanwhile do not shift it. Limit default 24, at most 200 (larger is lowered).
   * @throws InputError naming `cursor` for a cursor that is not a `nextCursor` of this API.
   */
  page(query: GenerationQuery, options?: { cursor?: string; limit?: number }): Promise<GenerationPage>;
  /** Totals for the same filter: count, by status, rendered seconds (succeeded, not cache hits), cost per currency. */
  totals(query: GenerationQuery): Promise<GenerationTotals>;
  /**
   * Groups by one correlation key (records without the key, or with a JSON null there, are left out): value, count,
   * newest created, the newest record, totals per group; newest group first. Limit default 50, at most 500.
   */
  groups(
    query: GenerationQuery & { groupKey: string },
    options?: { limit?: number },
  ): Promise<CorrelationGroup[]>;
  /**
   * The slot-queue place of in-flight generations: 1-based position (oldest waiter first, as slots are handed
   * over) and the queue's length, only for the ids that wait; ids not waiting are absent.
   */
  queuePositions(ids: string[]): Promise<Map<string, { position: number; waiting: number }>>;
  /** The generation that submitted this provider task, with its status; null for a task this deployment never submitted. */
  generationIdOfTask(taskId: string): Promise<{ generationId: string; status: GenerationStatus } | null>;
}

/** Options of {@link createGenerationQueries}. */
export interface GenerationQueriesOptions {
  /** The metadata database (PostgreSQL or the embedded PGlite), migrated. */
  sql: SqlClient;
  /**
   * Waiters not seen for this long (ms) are runs that died and do not count in the queue: pass the budget's own
   * horizon (`slotWaitTimings(settings).staleWaiterMs`). Default: every waiter counts, as the budget counts them
   * until its next change removes the stale ones.
   */
  staleWaiterMs?: number;
}

interface AggregateRow {
  status: GenerationStatus;
  currency: string | null;
  count: number;
  /** Rows that count as rendered and paid (succeeded, not cache hits). */
  billable: number;
  video_seconds: number;
  amount: number;
}

/** Reads the generations table for the gallery; every statement is one indexed query (see 005-gallery-search.sql). */
export function createGenerationQueries(options: GenerationQueriesOptions): GenerationQueries {
  const { sql, staleWaiterMs } = options;

  return {
    page: (query, { cursor, limit } = {}) =>
      guard("page", async () => {
        const after = cursor === undefined || cursor === "" ? undefined : decodeGenerationCursor(cursor);
        const prepared = await prepareGenerationQuery(sql, query);
        const params: unknown[] = [];
        const conditions = [prepared.where(params)];
        if (after) {
          conditions.push(
            `(created_at, generation_id) < ($${params.push(after.createdAt)}::timestamptz, $${params.push(after.generationId)}::text)`,
          );
        }
        const size = clampLimit(limit, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX);
        // One row more than the page tells whether an older page exists, without a count.
        const { rows } = await sql.query<GenerationRow & { cursor_at: string }>(
          `SELECT ${RECORD_COLUMNS}, ${CURSOR_AT} AS cursor_at FROM generations
           WHERE ${conditions.join(" AND ")}
           ORDER BY created_at DESC, generation_id DESC LIMIT $${params.push(size + 1)}::int`,
          params,
        );
        const shown = rows.slice(0, size);
        const last = shown.at(-1);
        return {
          records: shown.map(toRecord),
          nextCursor:
            rows.length > size && last
              ? encodeGenerationCursor({ createdAt: last.cursor_at, generationId: last.generation_id })
              : null,
        };
      }),

    totals: (query) =>
      guard("totals", async () => {
        const prepared = await prepareGenerationQuery(sql, query);
        const params: unknown[] = [];
        const { rows } = await sql.query<AggregateRow>(
          `SELECT status, ${AGGREGATES} FROM generations WHERE ${prepared.where(params)}
           GROUP BY status, cost_currency`,
          params,
        );
        return sumTotals(rows);
      }),

    groups: (query, { limit } = {}) =>
      guard("groups", async () => {
        const { groupKey } = query;
        if (groupKey === "")
          throw InputError.forField("group", "group must name a correlation key; got nothing");
        const prepared = await prepareGenerationQuery(sql, query);
        const found = await newestGroups(
          prepared,
          groupKey,
          clampLimit(limit, GROUPS_LIMIT_DEFAULT, GROUPS_LIMIT_MAX),
        );
        if (found.groups.length === 0) return [];
        const aggregates = found.aggregates ?? (await groupAggregates(prepared, groupKey, found.groups));
        const records = await sql.query<GenerationRow>(
          `SELECT ${RECORD_COLUMNS} FROM generations
           WHERE generation_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
          [JSON.stringify(found.groups.map((group) => group.generationId))],
        );
        const recordById = new Map(records.rows.map((row) => [row.generation_id, toRecord(row)]));
        return found.groups.flatMap(({ value, generationId }): CorrelationGroup[] => {
          const record = recordById.get(generationId);
          // Only when the record was deleted between the statements: the group is left out.
          if (!record) return [];
          const totals = sumTotals(aggregates.filter((row) => row.value === value));
          return [
            {
              key: groupKey,
              value,
              count: totals.count,
              newestCreatedAt: record.createdAt,
              newestGenerationId: generationId,
              newest: record,
              totals,
            },
          ];
        });
      }),

    queuePositions: (ids) =>
      guard("queuePositions", async () => {
        const positions = new Map<string, { position: number; waiting: number }>();
        if (ids.length === 0) return positions;
        if (ids.length > QUEUE_IDS_MAX) {
          throw InputError.forField(
            "ids",
            `queuePositions takes at most ${QUEUE_IDS_MAX} ids; got ${ids.length}`,
          );
        }
        const live =
          staleWaiterMs === undefined ? "true" : "seen_at > now() - $2::float8 * interval '1 millisecond'";
        // A JSON array parameter works the same in pg and PGlite (a JS array would become a PG array literal in pg).
        const { rows } = await sql.query<{ holder: string; position: number; waiting: number }>(
          `SELECT holder, position, waiting FROM (
             SELECT holder, (row_number() OVER (ORDER BY enqueued_at, holder))::int AS position,
               (count(*) OVER ())::int AS waiting
             FROM provider_slot_waiters WHERE ${live}) AS queue
           WHERE holder IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
          staleWaiterMs === undefined ? [JSON.stringify(ids)] : [JSON.stringify(ids), staleWaiterMs],
        );
        for (const row of rows) positions.set(row.holder, { position: row.position, waiting: row.waiting });
        return positions;
      }),

    generationIdOfTask: (taskId) =>
      guard("generationIdOfTask", async () => {
        // One probe of the unique task_id index.
        const { rows } = await sql.query<{ generation_id: string; status: GenerationStatus }>(
          "SELECT generation_id, status FROM generations WHERE task_id = $1",
          [taskId],
        );
        const row = rows[0];
        return row ? { generationId: row.generation_id, status: row.status } : null;
      }),
  };

  /**
   * The `size` groups whose newest record is newest, newest first, with that record's id. Groups are ranked by their
   * newest record, so reading the filter's records newest first, the first `size` values met are the answer: a
   * window of recent records settles it when groups are small (a pipeline run's takes), and only the chosen groups
   * are then added up. When the window holds fewer values than asked, the groups are few and large: every record
   * with the key is grouped, in one pass that also adds up the totals.
   */
  async function newestGroups(
    prepared: PreparedGenerationQuery,
    groupKey: string,
    size: number,
  ): Promise<{ groups: ChosenGroup[]; aggregates?: GroupAggregateRow[] }> {
    const window = Math.min(Math.max(size * GROUP_WINDOW_PER_GROUP, GROUP_WINDOW_MIN), GROUP_WINDOW_MAX);
    const recent = groupStatement(prepared, groupKey);
    const { rows: recentRows } = await sql.query<{ value: string; generation_id: string }>(
      `SELECT correlation ->> ${recent.key} AS value, generation_id FROM generations WHERE ${recent.where}
       ORDER BY created_at DESC, generation_id DESC LIMIT ${recent.parameter(window)}::int`,
      recent.params,
    );
    const firstSeen = new Map<string, string>();
    for (const row of recentRows) if (!firstSeen.has(row.value)) firstSeen.set(row.value, row.generation_id);
    if (firstSeen.size >= size || recentRows.length < window) {
      return {
        groups: [...firstSeen].slice(0, size).map(([value, generationId]) => ({ value, generationId })),
      };
    }

    const grouped = groupStatement(prepared, groupKey);
    // Ties on the newest time at the cut are all kept; the next statement orders them by id as pages do.
    const { rows: aggregates } = await sql.query<GroupAggregateRow & { newest_at: string }>(
      `WITH per_status AS (
         SELECT correlation ->> ${grouped.key} AS value, status, ${AGGREGATES}, max(created_at) AS latest
         FROM generations WHERE ${grouped.where} GROUP BY 1, status, cost_currency),
       chosen AS (
         SELECT value FROM per_status GROUP BY value
         ORDER BY max(latest) DESC FETCH FIRST (${grouped.parameter(size)}::int) ROWS WITH TIES)
       SELECT value, status, currency, count, billable, video_seconds, amount,
         ${utcMicroseconds("max(latest) OVER (PARTITION BY value)")} AS newest_at
       FROM per_status JOIN chosen USING (value)`,
      grouped.params,
    );
    if (aggregates.length === 0) return { groups: [] };
    const newestAt = new Map(aggregates.map((row) => [row.value, row.newest_at]));
    const newest = groupStatement(prepared, groupKey);
    const { rows } = await sql.query<{ value: string; generation_id: string }>(
      `SELECT value, generation_id FROM (
         SELECT DISTINCT ON (correlation ->> ${newest.key}) correlation ->> ${newest.key} AS value, generation_id,
           created_at
         FROM generations
         WHERE ${newest.where}
           AND created_at IN (${[...new Set(newestAt.values())].map((time) => `${newest.parameter(time)}::timestamptz`).join(", ")})
           AND correlation ->> ${newest.key} IN (${[...newestAt.keys()].map(newest.parameter).join(", ")})
         ORDER BY correlation ->> ${newest.key}, created_at DESC, generation_id DESC) AS newest
       ORDER BY created_at DESC, generation_id DESC LIMIT ${newest.parameter(size)}::int`,
      newest.params,
    );
    return { groups: rows.map((row) => ({ value: row.value, generationId: row.generation_id })), aggregates };
  }

  /** The totals pieces of the chosen groups, found through the correlation index by their values. */
  async function groupAggregates(
    prepared: PreparedGenerationQuery,
    groupKey: string,
    groups: ChosenGroup[],
  ): Promise<GroupAggregateRow[]> {
    const params: unknown[] = [];
    const parameter = (value: unknown) => `$${params.push(value)}`;
    const filter = prepared.where(params);
    const values = groups.map((group) => group.value);
    const { rows } = await sql.query<GroupAggregateRow>(
      `SELECT correlation ->> ${parameter(groupKey)} AS value, status, ${AGGREGATES} FROM generations
       WHERE ${filter} AND ${correlationValuesCondition(groupKey, values, parameter)}
       GROUP BY 1, status, cost_currency`,
      params,
    );
    return rows;
  }
}

/** One statement over the filter's records that hold the group key with a value; its own parameters follow. */
function groupStatement(prepared: PreparedGenerationQuery, groupKey: string) {
  const params: unknown[] = [];
  const filter = prepared.where(params);
  const key = `$${params.push(groupKey)}`;
  const parameter = (value: unknown) => `$${params.push(value)}`;
  return {
    params,
    parameter,
    key,
    where: `${filter} AND correlation ? ${key} AND correlation ->> ${key} IS NOT NULL`,
  };
}

/** A group chosen for the answer: its value and its newest record. */
interface ChosenGroup {
  value: string;
  generationId: string;
}

/** {@link AggregateRow} of one group. */
type GroupAggregateRow = AggregateRow & { value: string };

/** A timestamptz column as UTC text with all six fractional digits (a JS Date would round to milliseconds). */
const utcMicroseconds = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `created_at` for the cursor. */
const CURSOR_AT = utcMicroseconds("created_at");

/** Billable: what the totals of the store count as rendered and paid (a cache hit renders nothing). */
const BILLABLE = "status = 'succeeded' AND cache_hit IS NOT TRUE";

/** Per (status, currency) group: the pieces {@link sumTotals} adds up. Casts keep pg and PGlite alike. */
const AGGREGATES = `cost_currency AS currency, count(*)::int AS count,
  (count(*) FILTER (WHERE ${BILLABLE}))::int AS billable,
  coalesce(sum(video_seconds) FILTER (WHERE ${BILLABLE}), 0)::float8 AS video_seconds,
  coalesce(sum(cost_amount) FILTER (WHERE ${BILLABLE}), 0)::float8 AS amount`;

function sumTotals(rows: AggregateRow[]): GenerationTotals {
  const byStatus: Record<string, number> = Object.fromEntries(ALL_STATUSES.map((status) => [status, 0]));
  const cost = new Map<string, number>();
  let videoSeconds = 0;
  for (const row of rows) {
    byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count;
    videoSeconds += row.video_seconds;
    if (row.currency !== null && row.billable > 0) {
      cost.set(row.currency, (cost.get(row.currency) ?? 0) + row.amount);
    }
  }
  return {
    count: Object.values(byStatus).reduce((sum, count) => sum + count, 0),
    succeeded: byStatus.succeeded ?? 0,
    failed: byStatus.failed ?? 0,
    canceled: byStatus.canceled ?? 0,
    videoSeconds,
    cost: [...cost]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([currency, amount]) => ({ currency, amount })),
    byStatus,
  };
}

function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(Math.max(Math.trunc(limit), 1), max);
}
