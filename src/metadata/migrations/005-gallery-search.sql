-- What the gallery's queries (src/metadata/generation-queries.ts) need to stay fast at 100,000 records.
-- Kept at PostgreSQL 15 level and free of extensions: the same file runs on the embedded PGlite.

-- Prompt search: the prompt's words, for a word-prefix tsquery over a GIN index. The `simple` configuration lowercases
-- and keeps every word (no stemming, no stop words: a prompt is searched for what it literally says). `<`, `>` and `&`
-- become spaces first, because the default parser drops anything it takes for an HTML tag or entity, and a prompt
-- that says `<script>` must be findable by that word. Only the first 4000 characters are indexed (a valid prompt has
-- at most 1500): a refused request is recorded as received, and a tsvector over 1 MB would make that insert fail.
ALTER TABLE generations ADD COLUMN prompt_search tsvector GENERATED ALWAYS AS (
  to_tsvector('simple'::regconfig, translate(left(coalesce(request ->> 'prompt', ''), 4000), '<>&', '   '))
) STORED;

-- The seed used: the result's once there is one, the request's before. Generated, so it follows every way a record
-- changes (created, succeeded, reset for a new run) and is filled for existing rows by this very statement. A
-- value that is not a whole JSON number (a refused request keeps what it was sent) is NULL, never a failed insert.
ALTER TABLE generations ADD COLUMN seed bigint GENERATED ALWAYS AS (
  CASE
    WHEN jsonb_typeof(result -> 'seed') = 'number' AND (result ->> 'seed') ~ '^-?[0-9]{1,18}$'
      THEN (result ->> 'seed')::bigint
    WHEN jsonb_typeof(request -> 'seed') = 'number' AND (request ->> 'seed') ~ '^-?[0-9]{1,18}$'
      THEN (request ->> 'seed')::bigint
  END
) STORED;

CREATE INDEX generations_prompt_search ON generations USING gin (prompt_search);
CREATE INDEX generations_seed ON generations (seed, created_at DESC, generation_id DESC) WHERE seed IS NOT NULL;

-- Keyset pagination, newest first: (created_at, generation_id) is the order and the cursor, so a page is one index
-- range, however deep. They replace the single-column indexes of 001, which are their prefixes. The newest-first
-- index also carries what the totals add up, so totals over everything or a time range are an index-only scan of
-- this narrow index instead of a read of the whole table (its request and result documents make it wide).
CREATE INDEX generations_newest ON generations (created_at DESC, generation_id DESC)
  INCLUDE (status, cache_hit, cost_currency, video_seconds, cost_amount);
CREATE INDEX generations_status_newest ON generations (status, created_at DESC, generation_id DESC);
DROP INDEX generations_created_at;
DROP INDEX generations_status;

-- "Has this correlation key" (`correlation ? key`, grouping by a key) needs the default jsonb_ops: the
-- jsonb_path_ops index of 001 answers only containment (`@>`, a key with a value).
CREATE INDEX generations_correlation_keys ON generations USING gin (correlation);
