-- The queue of generations waiting for a budget slot. A freed slot is handed to the oldest waiter (a `granted` slot
-- row with a short lease) instead of going to whichever run checks first, and the waiter is woken by an event.
CREATE TABLE provider_slot_waiters (
  holder text PRIMARY KEY,
  enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Every check renews this; a waiter not seen for a while is a run that died, and loses its place.
  seen_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX provider_slot_waiters_queue ON provider_slot_waiters (enqueued_at, holder);

-- A slot handed over to a waiter that has not taken it yet (its lease is short until the waiter renews it).
ALTER TABLE provider_slots ADD COLUMN granted boolean NOT NULL DEFAULT false;
