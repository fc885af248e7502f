-- Generation records, cache-key claims and the account-wide provider budget.
-- Kept at PostgreSQL 15 level: the same file runs on PostgreSQL and on the embedded PGlite.

CREATE TABLE generations (
  generation_id text PRIMARY KEY,
  cache_key text,
  cache_mode text NOT NULL CHECK (cache_mode IN ('use', 'refresh', 'bypass')),
  status text NOT NULL
    CHECK (status IN ('pending', 'submitted', 'copying', 'attached', 'succeeded', 'failed', 'canceled')),
  stage text NOT NULL,
  provider_status text,
  request jsonb NOT NULL,
  warnings jsonb NOT NULL DEFAULT '[]'::jsonb,
  provider text NOT NULL,
  model text NOT NULL,
  task_id text,
  provider_request_id text,
  attached_to text,
  submit_state text NOT NULL DEFAULT 'none' CHECK (submit_state IN ('none', 'in_flight', 'rejected', 'accepted')),
  submit_attempted_at timestamptz,
  image_sha256 text,
  correlation jsonb,
  run_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz,
  completed_at timestamptz,
  result jsonb,
  error_code text,
  error_message text,
  -- Promoted from `result` for totals and listings.
  video_seconds double precision,
  cost_amount double precision,
  cost_currency text,
  cache_hit boolean
);

-- The arbiter of claims: at most one active (claiming) generation per cache key. Bypass runs neither share nor are shared.
CREATE UNIQUE INDEX generations_active_cache_key ON generations (cache_key)
  WHERE status IN ('pending', 'submitted', 'copying') AND cache_mode <> 'bypass';

-- A provider task belongs to exactly one generation (two reconciling runs must not adopt the same task).
CREATE UNIQUE INDEX generations_task_id ON generations (task_id) WHERE task_id IS NOT NULL;

CREATE INDEX generations_cache_key_status ON generations (cache_key, status);
CREATE INDEX generations_created_at ON generations (created_at DESC);
CREATE INDEX generations_status ON generations (status);
CREATE INDEX generations_correlation ON generations USING gin (correlation jsonb_path_ops);

-- One row per held slot of the account-wide in-flight budget.
CREATE TABLE provider_slots (
  holder text PRIMARY KEY,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  lease_expires_at timestamptz NOT NULL
);
