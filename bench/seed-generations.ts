/**
 * Fills a migrated metadata database with N realistic generation records in a few INSERT ... SELECT generate_series
 * statements (100,000 in about ten seconds on PostgreSQL), for the gallery, JSON API and /metrics benchmarks.
 *
 * The mix, deterministic for a given N (hashes of the row number, no randomness):
 * - created over `spanDays` up to `newest`, two records per instant (a fan-out's takes share one `now()`);
 * - the newest 24 are in flight (pending, submitted, copying, attached; the pending ones queue for a budget slot),
 *   the rest 86% succeeded (10% of those cache hits), 9% failed, 5% canceled;
 * - 60% carry `{ pipeline_run: "run-<n>", shot: "shot-<k>" }` (up to eight takes a run), 15% `{ project: "p<k>" }`, the
 *   rest no correlation;
 * - prompts of four parts drawn from word lists (about 20,000 different prompts; each subject in ~1/24 of the rows,
 *   the setting "under the aurora" in ~1/20);
 * - seeds drawn from 0..2^31-1, half of them also in the request; 5, 10 or 15 s clips, costs in CNY (10% in USD);
 * - a result, poster key and image key for the succeeded ones, an error code for failed and canceled.
 */
import { setTimeout } from "node:timers/promises";
import type { SqlClient } from "../src/metadata/sql-client.ts";

/** Options of {@link seedGenerations}. */
export interface SeedGenerationsOptions {
  /** Records to add. */
  count: number;
  /** `created_at` of the newest record. Default: now. */
  newest?: Date;
  /** How far back the oldest record lies, days. Default 90. */
  spanDays?: number;
  /** Rows per INSERT statement. Default 10,000. */
  batchSize?: number;
  /** Generation ids are `<idPrefix><7-digit row number>`. Default `bench-`. */
  idPrefix?: string;
}

/** What was seeded, for picking benchmark filters that match something. */
export interface SeededGenerations {
  count: number;
  newest: Date;
  oldest: Date;
  /** A `pipeline_run` value in the middle of the history (held by up to eight records, five on average). */
  pipelineRun: string;
  /** A seed held by at least one record. */
  seed: number;
  /** Generation ids of the in-flight records (the gallery's live cards). */
  inFlightIds: string[];
}

/** VACUUMs tried until the visibility map covers the table. */
const VACUUM_ROUNDS = 5;
/** Rows at the newest end that are still in flight. */
const IN_FLIGHT = 24;

const SUBJECTS = [
  "a red fox",
  "an old lighthouse",
  "a paper boat",
  "a snow leopard",
  "a vintage car",
  "a hot air balloon",
  "a koi fish",
  "a street musician",
  "a glass city",
  "a sailing ship",
  "a field of sunflowers",
  "a sleeping cat",
  "a dancer in red",
  "a steam train",
  "a mountain goat",
  "a neon sign",
  "an astronaut",
  "a wooden windmill",
  "a desert caravan",
  "a flock of cranes",
  "a robot gardener",
  "a jellyfish",
  "a cable car",
  "a bonsai tree",
];
const ACTIONS = [
  "drifts slowly",
  "turns toward the camera",
  "runs",
  "glows softly",
  "sways in the wind",
  "rises",
  "spins",
  "walks forward",
  "flickers",
  "floats",
  "circles",
  "rests",
  "emerges from fog",
  "splashes",
  "breathes",
  "waits",
];
const SETTINGS = [
  "at dawn",
  "in heavy rain",
  "under the aurora",
  "on a foggy harbour",
  "across a frozen lake",
  "in a neon-lit alley",
  "at golden hour",
  "through falling snow",
  "over rolling dunes",
  "beneath cherry blossoms",
  "inside a cathedral",
  "on a windswept cliff",
  "in a bamboo forest",
  "at midnight",
  "along a canal",
  "on the surface of the moon",
  "by a campfire",
  "in a sunlit meadow",
  "on a rooftop",
  "in a flooded street",
];
const STYLES = [
  "cinematic, shallow depth of field",
  "slow dolly in",
  "handheld, documentary",
  "aerial shot",
  "35mm film grain",
  "soft pastel colours",
  "high contrast, moody",
  "timelapse",
  "macro close-up",
  "wide establishing shot",
  "anime style",
  "watercolour look",
];

const sqlArray = (words: string[]) =>
  `ARRAY[${words.map((word) => `'${word.replace(/'/g, "''")}'`).join(", ")}]`;

/**
 * One batch: rows `$1..$2` of `$3`, newest `$4`, span `$5` seconds, id prefix `$6`. `r(k)` are independent uniform
 * draws in [0, 1) from the row number.
 */
const INSERT_BATCH = `
INSERT INTO generations (generation_id, cache_key, cache_mode, status, stage, provider_status, request, warnings,
  provider, model, task_id, provider_request_id, submit_state, submit_attempted_at, image_delivery, image_sha256,
  correlation, run_id, created_at, started_at, updated_at, submitted_at, completed_at, result, error_code,
  error_message, video_seconds, cost_amount, cost_currency, cache_hit, resolution, duration_s, render_ms,
  poster_key, image_key)
SELECT id, 'key-' || md5(id), 'use', status,
  CASE status WHEN 'succeeded' THEN 'done' WHEN 'pending' THEN 'waiting-for-slot' WHEN 'submitted' THEN 'rendering'
    WHEN 'copying' THEN 'copy' WHEN 'attached' THEN 'waiting-for-duplicate' ELSE 'rendering' END,
  CASE WHEN status IN ('succeeded', 'failed', 'copying') THEN
    CASE WHEN status = 'failed' THEN 'FAILED' ELSE 'SUCCEEDED' END
    WHEN status = 'submitted' THEN 'RUNNING' END,
  request, '[]'::jsonb, 'dashscope', 'wan2.6-i2v-flash',
  CASE WHEN has_task THEN 'task-' || id END, CASE WHEN has_task THEN 'req-' || id END,
  CASE WHEN has_task THEN 'accepted' ELSE 'none' END, CASE WHEN has_task THEN created_at + interval '2 seconds' END,
  CASE WHEN has_task THEN 'presigned' END, image_sha256, correlation, 'run-' || md5(id || 'run'),
  created_at, created_at, coalesce(completed_at, created_at), CASE WHEN has_task THEN created_at + interval '2 seconds' END,
  completed_at,
  CASE WHEN status = 'succeeded' THEN jsonb_build_object(
    'generation_id', id, 'video_url', 'https://media.example.com/videos/key-' || md5(id) || '.mp4',
    'storage_uri', 's3://bench-videos/videos/key-' || md5(id) || '.mp4', 'duration', duration, 'fps', 30,
    'width', 1280, 'height', 720, 'bytes', duration * 420000, 'sha256', md5(id) || md5(id || 'x'),
    'content_type', 'video/mp4', 'has_audio', false, 'seed', seed, 'task_id', 'task-' || id,
    'model', 'wan2.6-i2v-flash', 'cache_hit', cache_hit, 'warnings', '[]'::jsonb,
    'usage', jsonb_build_object('duration', duration, 'SR', 720),
    'cost_estimate', jsonb_build_object('currency', currency, 'amount', cost),
    'timings', jsonb_build_object('queued_ms', 4000, 'render_ms', render_ms, 'copy_ms', 900,
      'total_ms', 4900 + render_ms)) END,
  CASE status WHEN 'failed' THEN 'provider_task_failed' WHEN 'canceled' THEN 'canceled' END,
  CASE status WHEN 'failed' THEN 'The provider reported the task FAILED (InternalError.Algo).'
    WHEN 'canceled' THEN 'canceled by operator' END,
  CASE WHEN status = 'succeeded' THEN duration END, CASE WHEN status = 'succeeded' THEN cost END,
  CASE WHEN status = 'succeeded' THEN currency END, CASE WHEN status = 'succeeded' THEN cache_hit END,
  '720P', duration, CASE WHEN status = 'succeeded' AND NOT cache_hit THEN render_ms END,
  CASE WHEN status = 'succeeded' THEN 'posters/key-' || md5(id) || '.webp' END,
  'images/' || image_sha256 || '.jpg'
FROM (
  SELECT *,
    CASE WHEN status = 'succeeded' THEN created_at + (render_ms + 5000) * interval '1 millisecond'
      WHEN status IN ('failed', 'canceled') THEN created_at + interval '90 seconds' END AS completed_at,
    status IN ('succeeded', 'failed', 'submitted', 'copying') AND NOT (status = 'succeeded' AND cache_hit) AS has_task,
    round((duration * CASE WHEN currency = 'USD' THEN 0.014 ELSE 0.1 END)::numeric, 3)::float8 AS cost,
    jsonb_build_object('prompt', prompt, 'reference_image', 's3://bench-images/refs/' || (i % 500) || '.jpg',
      'duration', duration, 'size', '1280*720')
      || CASE WHEN r8 < 0.5 THEN jsonb_build_object('seed', seed) ELSE '{}'::jsonb END AS request
  FROM (
    SELECT *,
      $6::text || lpad(i::text, 7, '0') AS id,
      $4::timestamptz - ((($3::int - i) / 2) * ($5::float8 * 2 / $3::int)) * interval '1 second' AS created_at,
      CASE WHEN i > $3::int - ${IN_FLIGHT}
        THEN (ARRAY['pending', 'submitted', 'copying', 'attached'])[1 + i % 4]
        WHEN r1 < 0.86 THEN 'succeeded' WHEN r1 < 0.95 THEN 'failed' ELSE 'canceled' END AS status,
      (${sqlArray(SUBJECTS)})[1 + floor(r2 * ${SUBJECTS.length})::int] || ' '
        || (${sqlArray(ACTIONS)})[1 + floor(r3 * ${ACTIONS.length})::int] || ' '
        || (${sqlArray(SETTINGS)})[1 + floor(r4 * ${SETTINGS.length})::int] || ', '
        || (${sqlArray(STYLES)})[1 + floor(r5 * ${STYLES.length})::int] AS prompt,
      CASE WHEN r6 < 0.6 THEN jsonb_build_object('pipeline_run', 'run-' || (i / 8), 'shot', 'shot-' || (i % 8))
        WHEN r6 < 0.75 THEN jsonb_build_object('project', 'p' || (i % 20)) END AS correlation,
      floor(r7 * 2147483647)::bigint AS seed,
      (ARRAY[5, 5, 10, 15])[1 + i % 4] AS duration,
      r9 < 0.1 AS cache_hit,
      CASE WHEN r10 < 0.1 THEN 'USD' ELSE 'CNY' END AS currency,
      (60000 + floor(r11 * 120000))::int AS render_ms,
      md5(i::text || 'image') || md5((i % 500)::text) AS image_sha256
    FROM (
      SELECT i,
        ${Array.from({ length: 11 }, (_, k) => `((hashint4(i * 16 + ${k + 1})::bigint + 2147483648) % 1000003) / 1000003.0 AS r${k + 1}`).join(",\n        ")}
      FROM generate_series($1::int, $2::int) AS i
    ) AS draws
  ) AS rows
) AS generations_to_add`;

/**
 * Adds `count` records to the generations table (and slot waiters for the pending ones), then VACUUMs and ANALYZEs
 * it. The
 * database must be migrated. Ids are unique per `idPrefix`; seeding twice with one prefix fails on the primary key.
 */
export async function seedGenerations(
  sql: SqlClient,
  options: SeedGenerationsOptions,
): Promise<SeededGenerations> {
  const { count } = options;
  const newest = options.newest ?? new Date();
  const spanSeconds = (options.spanDays ?? 90) * 86_400;
  const batchSize = options.batchSize ?? 10_000;
  const idPrefix = options.idPrefix ?? "bench-";
  for (let start = 1; start <= count; start += batchSize) {
    const end = Math.min(count, start + batchSize - 1);
    await sql.query(INSERT_BATCH, [start, end, count, newest.toISOString(), spanSeconds, idPrefix]);
  }
  await sql.query(
    `INSERT INTO provider_slot_waiters (holder, enqueued_at, seen_at)
     SELECT generation_id, created_at, now() FROM generations WHERE status = 'pending' AND generation_id LIKE $1
     ON CONFLICT (holder) DO NOTHING`,
    [`${idPrefix}%`],
  );
  // What autovacuum does to a table at rest: statistics for the planner, and the visibility map that lets the
  // totals read the newest-first index alone.
  // A VACUUM racing an autovacuum ANALYZE of the fresh rows may leave pages not yet all-visible: repeat it (a few
  // rounds at most) as autovacuum would.
  for (let round = 1; round <= VACUUM_ROUNDS; round++) {
    await sql.query("VACUUM ANALYZE generations");
    const { rows } = await sql.query<{ share: number }>(
      "SELECT relallvisible::float8 / greatest(relpages, 1) AS share FROM pg_class WHERE relname = 'generations'",
    );
    if ((rows[0]?.share ?? 0) >= 0.99) break;
    await setTimeout(1_000);
  }
  await sql.query("VACUUM ANALYZE provider_slot_waiters");
  const { rows } = await sql.query<{ seed: string; in_flight: string[] | null }>(
    `SELECT (SELECT seed::text FROM generations WHERE generation_id >= $1 AND seed IS NOT NULL
             ORDER BY generation_id LIMIT 1) AS seed,
       (SELECT array_agg(generation_id ORDER BY generation_id) FROM generations
        WHERE generation_id LIKE $2 AND status NOT IN ('succeeded', 'failed', 'canceled')) AS in_flight`,
    [`${idPrefix}${String(Math.ceil(count / 2)).padStart(7, "0")}`, `${idPrefix}%`],
  );
  return {
    count,
    newest,
    oldest: new Date(newest.getTime() - spanSeconds * 1000),
    pipelineRun: `run-${Math.floor(count / 2 / 8)}`,
    seed: Number(rows[0]?.seed),
    inFlightIds: rows[0]?.in_flight ?? [],
  };
}
