-- The account-wide task watcher: one lease row (at most one watcher acts at a time; a dead one's lease runs out), the
-- endings it or the completion push learned, and the grants it announces until their waiters take them.
CREATE TABLE task_watcher (
  id int PRIMARY KEY CHECK (id = 1),
  -- The Inngest run id of the watcher holding the lease; null when none is active.
  holder text,
  lease_expires_at timestamptz
);
INSERT INTO task_watcher (id) VALUES (1);

-- The provider's ending of a submitted task as the watcher or the push learned it (SUCCEEDED, FAILED, …), before
-- the run's own check moves the record on; how often, and when last, the run was told.
ALTER TABLE generations ADD COLUMN task_end_status text;
ALTER TABLE generations ADD COLUMN task_ended_at timestamptz;
ALTER TABLE generations ADD COLUMN task_end_signals int NOT NULL DEFAULT 0;
ALTER TABLE generations ADD COLUMN task_end_signalled_at timestamptz;

-- The watched set: submitted generations with a provider task (a handful at a time; the budget bounds it).
CREATE INDEX generations_watched ON generations (submitted_at) WHERE status = 'submitted' AND task_id IS NOT NULL;

-- A grant is announced when it is made; a waiter that missed it is told again until it takes the slot.
ALTER TABLE provider_slots ADD COLUMN announcements int NOT NULL DEFAULT 0;
ALTER TABLE provider_slots ADD COLUMN announced_at timestamptz;
