import type { StageSettings } from "./video-generate-dependencies.ts";

/**
 * How long a run waits for an event (a handed-over budget slot, an identical generation's ending) before it checks
 * the record itself. Events wake it at once; the timeout is only the fallback for an event that was missed (one
 * sent before the wait began, or a run that died without sending it). The fallback starts at 5 s and grows by half
 * each time up to `capMs`, so a long wait costs a bounded number of steps and a missed event costs, on average, no
 * more than the short window in which it could be missed.
 */
export function fallbackWaitMs(check: number, capMs: number, watched = false): number {
  if (watched) return Math.round(Math.min(capMs, WATCHED_FIRST_FALLBACK_MS * 2 ** Math.min(check, 40)));
  return Math.round(Math.min(capMs, 5_000 * 1.5 ** Math.min(check, 40)));
}

/**
 * Where a task watcher runs (on Inngest), it re-announces a grant or an ending a run missed within seconds, so a
 * run's own fallback is only for a watcher that is down: it starts at a minute and doubles (60, 120, 240, 480 s…),
 * which keeps a wait of a quarter of an hour at five checks, whatever the queue.
 */
const WATCHED_FIRST_FALLBACK_MS = 60_000;
/** The fallback's cap where a watcher runs: long waits cost few steps; the watcher, not the cap, bounds the lag. */
const WATCHED_CAP_MS = 10 * 60_000;
/** A grant's lease where a watcher re-announces it: long enough for its waiter to hear, short if it never does. */
const WATCHED_GRANT_LEASE_MS = 90_000;

/** The timings of waiting for a budget slot, derived so that `maxSlotChecks` checks always cover the queue timeout. */
export function slotWaitTimings(
  settings: Pick<StageSettings, "queueTimeoutMs" | "maxSlotChecks" | "taskWatcher">,
) {
  const watched = settings.taskWatcher === true;
  // Half the checks at the cap cover the whole queue timeout; the growing start uses fewer than the other half.
  const capMs = Math.max(
    watched ? WATCHED_CAP_MS : 60_000,
    Math.ceil((2 * settings.queueTimeoutMs) / settings.maxSlotChecks),
  );
  return {
    capMs,
    watched,
    /**
     * A handed-over slot stays reserved until its waiter's next fallback check at the latest; where a watcher
     * re-announces the grant, for 90 s (a waiter that never takes it frees the slot for the next).
     */
    grantLeaseMs: watched ? WATCHED_GRANT_LEASE_MS : capMs + 60_000,
    /** A waiter that has not checked for two fallbacks is a run that died and loses its place. */
    staleWaiterMs: 2 * capMs + 60_000,
  };
}

/** Copy margin after an identical generation's deadline: its copy and persist steps, with retries. */
const OWNER_COPY_MARGIN_MS = 10 * 60_000;

/** Fallback cap while waiting for an identical generation, derived so the checks cover its longest possible life. */
export function duplicateWaitCapMs(
  settings: Pick<StageSettings, "queueTimeoutMs" | "deadlineMs" | "maxDuplicateChecks" | "taskWatcher">,
): number {
  return Math.max(
    settings.taskWatcher ? WATCHED_CAP_MS : 60_000,
    Math.ceil((2 * ownerLifetimeMs(settings)) / settings.maxDuplicateChecks),
  );
}

/** The longest an identical generation can take: queued, rendered until the deadline, copied. */
export function ownerLifetimeMs(settings: Pick<StageSettings, "queueTimeoutMs" | "deadlineMs">): number {
  return settings.queueTimeoutMs + settings.deadlineMs + OWNER_COPY_MARGIN_MS;
}

/**
 * The check counts where a task watcher runs. Its signals end nearly every wait, so a run's own checks are only the
 * fallback for a watcher that is down; spread over the whole wait (see `evenFallbackMs`, `watchedPollDelayMs`), these
 * few cover any allowed queue timeout, deadline and identical generation's life, and keep the longest
 * possible run at 57 steps (`worstCaseSteps`), which a team billed per step can plan on.
 */
export const WATCHED_CHECKS = { status: 8, slot: 6, duplicate: 4 } as const;

/** The settings of a deployment with a task watcher: at most {@link WATCHED_CHECKS} checks of each kind. */
export function watchedSettings<T extends StageSettings>(settings: T): T {
  return {
    ...settings,
    taskWatcher: true,
    maxStatusChecks: Math.min(settings.maxStatusChecks, WATCHED_CHECKS.status),
    maxSlotChecks: Math.min(settings.maxSlotChecks, WATCHED_CHECKS.slot),
    maxDuplicateChecks: Math.min(settings.maxDuplicateChecks, WATCHED_CHECKS.duplicate),
    // The watcher renews the leases of every task in flight; a run whose watcher is down renews its own at checks
    // at most half this lease apart (or an even share of a long deadline).
    slotLeaseMs: Math.max(settings.slotLeaseMs, WATCHED_SLOT_LEASE_MS),
  };
}

/** A slot's lease where the watcher runs (see `watchedSettings`). */
const WATCHED_SLOT_LEASE_MS = 15 * 60_000;

/**
 * A fallback wait that also takes at least an even share of `remainingMs` over the checks left, so the last check
 * lands on the end of the wait however few checks there are; never past `remainingMs`. Long on purpose: a queued run
 * is told of its grant by an event, told again by the task watcher, and woken by a slot holder's own check when the
 * watcher is down, so its own check is the last resort, and one that comes early costs two steps for nothing (the
 * engine benchmark measured it: runs queued past a 348 s fallback took 16 steps instead of 14).
 */
export function evenFallbackMs(fallbackMs: number, remainingMs: number, checksLeft: number): number {
  const evenShareMs = Math.ceil(Math.max(0, remainingMs) / Math.max(1, checksLeft) / 1000) * 1000;
  return Math.max(1_000, Math.min(Math.max(fallbackMs, evenShareMs), remainingMs));
}

/** Inngest fails a run that reaches this many steps (every `step.*` call, sleeps and waits included). */
export const INNGEST_MAX_STEPS_PER_RUN = 1_000;

/**
 * The most steps one run of `video-generate` can take, whatever happens: validate, resolve-image, cache-check, each
 * claim round, two steps per duplicate check (wait + check), two per slot check, submit, two per status check (three
 * where a watcher runs: a check that finds it gone wakes it), the deadline, copy, persist, notify and the slot hand-overs (after the poll that saw the task end, and after persist).
 * The counts are fixed by the settings, never by how long a wait lasts, so allowed settings keep a run far below
 * Inngest's cap (a test walks the longest path and counts).
 */
export function worstCaseSteps(
  settings: Pick<
    StageSettings,
    "maxClaimRounds" | "maxDuplicateChecks" | "maxSlotChecks" | "maxStatusChecks" | "taskWatcher"
  >,
): number {
  const start = 3; // validate, resolve-image, cache-check
  const claims = settings.maxClaimRounds;
  const duplicates = 2 * settings.maxDuplicateChecks; // a wait and a check each
  const slots = 2 * settings.maxSlotChecks - 1; // a check each, a wait between two checks
  // A wait and a check each; where a watcher runs, a check that finds none wakes one (`wake-watcher-N`).
  const polls = (settings.taskWatcher ? 3 : 2) * settings.maxStatusChecks;
  // submit, (wake-watcher), slot-handover, copy, poster, persist, persist-handover, notify (the deadline path: fewer)
  const end = settings.taskWatcher ? 8 : 7;
  return start + claims + duplicates + slots + polls + end;
}
