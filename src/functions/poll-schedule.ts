/**
 * When to check a DashScope task again: the adaptive poll schedule of the durable function (design 3, step 6).
 *
 * Pure functions of their inputs: no clock, no I/O. The function feeds in the elapsed time and the last status it saw,
 * sleeps (`step.sleep`) for the returned delay, checks once, and asks again.
 *
 * Why adaptive rather than a fixed interval: a wan2.6-i2v-flash render takes "usually 1-5 min" (docs), 59-73 s in the
 * docs' own 10 s 720P examples, 45-180 s in third-party reports; status queries share a 20 QPS limit per account and the
 * docs advise about 15 s between them. A fixed 15 s interval leaves every job waiting 7-8 s on average after it finished;
 * a fixed 5 s interval (Vercel AI SDK) or the Python SDK's 1-2-4-5 s ramp spend most of their queries while the render
 * cannot possibly be done yet. This schedule spends its checks where finishes are likely instead
 * (bench/poll-schedule-benchmark.ts measures the trade).
 */

import { WAN_TIERS, type WanResolution } from "../contract/wan-model.ts";
import { ConfigurationError } from "../errors/configuration-error.ts";

/** The hard deadline from submit to the last check, 30 min (design 3 step 6; far inside the 24 h task lifetime). */
export const DEFAULT_DEADLINE_MS = 30 * 60 * 1000;

/**
 * At most this many status checks per run. Each check costs two Inngest steps (the sleep and the check), so 100 checks
 * stay far below the 1,000 steps a run may have. The schedule reaches the 30 min deadline in 48 checks for a 5 s 720P
 * estimate and in 74 for a 1 s estimate, so the count only binds when the deadline is raised.
 */
export const DEFAULT_MAX_CHECKS = 100;

/** Shortest and longest sleep between checks: Inngest rounds shorter sleeps up to 1 s; 60 s keeps a PENDING or
 * overdue task observed at least once a minute. */
const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;

/**
 * The shape, in units of the expected render time E (tuned with the benchmark; see the JSDoc of `nextPollDelayMs`).
 * - `firstCheck`: the first check lands at this fraction of E, about the earliest plausible finish (the reported
 *   minimum, 45 s, is 0.85 of the 53 s estimate for a 5 s 720P request; 0.9 measured slightly better), not at 0
 *   where every answer is "not yet".
 * - `denseInterval`: the interval from the first check until `denseUntil` x E, the window where finishes are likely.
 * - `tailGrowth`: after that window each interval grows by this fraction of the time past it (geometric spacing, so
 *   the lag stays a bounded share of the render time while the count grows only logarithmically).
 */
const SHAPE = { firstCheck: 0.9, denseInterval: 0.16, denseUntil: 1.8, tailGrowth: 0.1 } as const;

/**
 * The shape while another generation waits for this task's slot: from half the expected render time, a check every
 * 2 % of it (at least 1 s, Inngest's shortest sleep) until the dense window ends. A task's lag is then its waiter's
 * lag. The queries stay far inside DashScope's 20 QPS: only the tasks holding a slot poll, at most the budget (5) a
 * second.
 */
const URGENT_SHAPE = { firstCheck: 0.5, interval: 0.02 } as const;

/** Render-time model: fixed overhead plus a per-output-second cost at 720P, scaled for 1080P. */
const RENDER_OVERHEAD_S = 40;
const RENDER_S_PER_OUTPUT_SECOND_720P = 2.5;
/** Per-second cost grows faster than the pixel count (2.25x) because attention cost grows faster than linearly in
 * the number of tokens; 2.25^1.5 ~ 3.4. An assumption, not a measurement: the docs give only 720P figures. */
const RENDER_1080P_FACTOR = (WAN_TIERS["1080P"].pixels / WAN_TIERS["720P"].pixels) ** 1.5;

/** What the render-time estimate depends on. */
export interface RenderEstimateInput {
  /** Output length in whole seconds, 2..15. */
  duration: number;
  resolution: WanResolution;
  /** Seconds that replace the table (the composition root passes `VIDEO_GEN_RENDER_ESTIMATE_S`); must be > 0. */
  overrideSeconds?: number;
}

/**
 * Expected submit-to-finish time of an unqueued wan2.6-i2v-flash task, in ms.
 *
 * Formula: `40 s + 2.5 s x duration x f`, f = 1 at 720P and about 3.4 at 1080P, which gives
 *
 * | duration | 720P  | 1080P  |
 * |---------:|------:|-------:|
 * |      2 s |  45 s |   57 s |
 * |      5 s |  53 s |   82 s |
 * |     10 s |  65 s |  124 s |
 * |     15 s |  78 s |  167 s |
 *
 * Anchors: 10 s 720P = 65 s (the docs' examples took 59-73 s); the shortest request lands on the 45 s lower end of
 * third-party reports and the longest stays under their 180 s upper end; the median over typical requests (5 s and
 * 10 s, 720P and 1080P) is about 74 s, matching the reported typical 75 s. The schedule only needs the right scale:
 * it stays sensible when the estimate is off by a factor of two (benchmark).
 */
export function expectedRenderMs(input: RenderEstimateInput): number {
  if (input.overrideSeconds !== undefined) {
    if (!Number.isFinite(input.overrideSeconds) || input.overrideSeconds <= 0) {
      throw new ConfigurationError(
        `VIDEO_GEN_RENDER_ESTIMATE_S must be a positive number of seconds, got ${input.overrideSeconds}.`,
      );
    }
    return Math.round(input.overrideSeconds * 1000);
  }
  const factor = input.resolution === "1080P" ? RENDER_1080P_FACTOR : 1;
  const seconds = RENDER_OVERHEAD_S + RENDER_S_PER_OUTPUT_SECOND_720P * input.duration * factor;
  return Math.round(seconds) * 1000;
}

/** Everything the next delay depends on; all times in ms. */
export interface PollScheduleInput {
  /** 0-based index of the check about to be scheduled; 0 = the first check after submit. */
  attempt: number;
  /** Time since the submit (at the last check, or at the submit before the first). */
  elapsedMs: number;
  /** Status seen at the last check; undefined before the first check. */
  providerStatus?: "pending" | "running";
  /** `elapsedMs` when RUNNING was first seen. */
  runningSinceMs?: number;
  /** Expected render time, from `expectedRenderMs`. */
  expectedRenderMs: number;
  /** No check after this much time since the submit; default `DEFAULT_DEADLINE_MS`. */
  deadlineMs: number;
  /** At most this many checks; default `DEFAULT_MAX_CHECKS`. */
  maxChecks: number;
  /**
   * Whether another generation is queued for a budget slot (seen at the last check, or at the submit): then every
   * second this task's slot sits idle after its render ends delays that generation, and the schedule checks densely.
   */
  slotWanted?: boolean;
}

/**
 * How long to sleep before the next status check, in whole seconds (as ms) within [1 s, 60 s] (longer only when the
 * checks left could not otherwise reach the deadline), or null when no further check fits: `attempt >= maxChecks`, or the
 * deadline is less than a second away. A delay that would pass the deadline is cut so the final check lands on it (to
 * the whole second below it).
 *
 * Phases, in time since the render could have started (the anchor) and in units of the expected render time E:
 * 1. **Before 0.9 E: one sleep.** Nothing can be seen before the earliest plausible finish except the PENDING or
 *    RUNNING that every first poll returns, so the first check goes there, not at 0.
 * 2. **0.9 E to 1.8 E: dense, every 0.16 E** (8 s for a 5 s 720P request): most renders end here, and the lag
 *    from finish to detection is at most one interval. Over this window the chance that a still-running render ends
 *    in the next second is roughly constant (log-normal render times), so a constant interval is close to the
 *    best use of a given number of checks.
 * 3. **After 1.8 E: sparser.** Each interval grows by 10 % of the time past 1.8 E, up to 60 s: a late task is one of a
 *    long tail, and spacing the checks geometrically keeps the lag a bounded fraction of its render time while the
 *    number of checks grows only logarithmically with it. Together with the 60 s cap this keeps the query rate of many
 *    jobs far below DashScope's 20 QPS per account.
 *
 * The anchor moves with what was seen: PENDING means the task is queued and its render has not begun, so the
 * schedule restarts from that check (the finish moves later by the queueing time). RUNNING first seen at `r` means
 * the render began after the previous check, which (from phase 1 or a PENDING restart) was at most 0.9 E earlier;
 * the anchor is `r - 0.9 E`, the earliest start consistent with that, so the estimate errs towards checking early.
 */
export function nextPollDelayMs(input: PollScheduleInput): number | null {
  if (input.attempt >= input.maxChecks) return null;
  const remainingMs = input.deadlineMs - input.elapsedMs;
  if (remainingMs < MIN_DELAY_MS) return null;

  const expected = Math.max(MIN_DELAY_MS, input.expectedRenderMs);
  // Whole seconds, so that the first sleep ends exactly on it and the next call does not see a sliver of phase 1 left.
  const firstCheckMs = Math.max(MIN_DELAY_MS, Math.round((SHAPE.firstCheck * expected) / 1000) * 1000);
  let anchorMs = 0;
  if (input.providerStatus === "pending") anchorMs = input.elapsedMs;
  else if (input.providerStatus === "running" && input.runningSinceMs !== undefined) {
    anchorMs = Math.max(0, input.runningSinceMs - firstCheckMs);
  }
  const sinceAnchorMs = Math.max(0, input.elapsedMs - anchorMs);

  // Less than half a second of phase 1 left (a clock-measured elapsed time) counts as phase 1 done.
  let delayMs =
    firstCheckMs - sinceAnchorMs >= MIN_DELAY_MS / 2
      ? firstCheckMs - sinceAnchorMs
      : SHAPE.denseInterval * expected +
        SHAPE.tailGrowth * Math.max(0, sinceAnchorMs - SHAPE.denseUntil * expected);
  if (input.slotWanted && sinceAnchorMs < SHAPE.denseUntil * expected) {
    const urgentFirstMs = URGENT_SHAPE.firstCheck * expected;
    const urgentMs =
      urgentFirstMs - sinceAnchorMs >= MIN_DELAY_MS / 2
        ? urgentFirstMs - sinceAnchorMs
        : Math.max(MIN_DELAY_MS, URGENT_SHAPE.interval * expected);
    delayMs = Math.min(delayMs, urgentMs);
  }
  // The checks left must reach the deadline: a deadline longer than they cover at one a minute stretches the
  // intervals (evenly over what is left), so the run waits until its deadline and never runs out of checks first.
  const evenShareMs = Math.ceil(remainingMs / (input.maxChecks - input.attempt) / 1000) * 1000;
  const maxDelayMs = Math.max(MAX_DELAY_MS, evenShareMs);
  const wholeSeconds = Math.min(maxDelayMs, Math.max(MIN_DELAY_MS, Math.round(delayMs / 1000) * 1000));
  // Cut to the deadline, to the whole second at or below it: the final check never lands past it.
  return Math.min(wholeSeconds, Math.floor(remainingMs / 1000) * 1000);
}

/**
 * The first fallback check of a watched task, in units of the expected render: past nearly every render (a log-normal
 * spread of sigma 0.4 puts the 99th percentile near 2.5 × its median), so a run whose watcher works never checks on
 * its own.
 */
const WATCHED_FIRST_CHECK = 2.5;

/** What the fallback check of a watched task depends on; all times in ms. */
export interface WatchedPollInput {
  /** 0-based index of the check about to be scheduled. */
  attempt: number;
  /** Time since the submit. */
  elapsedMs: number;
  /** Expected render time, from `expectedRenderMs` or learned. */
  expectedRenderMs: number;
  deadlineMs: number;
  maxChecks: number;
  /** The budget slot's lease: without a watcher, the run's own check is what renews it. */
  slotLeaseMs: number;
}

/**
 * The wait before a run checks its task itself where the task watcher signals endings (`wait-N` ends at once on the
 * signal, so this is only the fallback for a signal that did not come): 2.5 × the expected render, then doubling,
 * at most half the slot's lease (so that a run whose watcher is down keeps its slot; an even share of the time left
 * when that is longer), and never so short that the doubling checks left could not reach the deadline; null when no
 * further check fits. Whole seconds, cut to the
 * deadline as `nextPollDelayMs`. A run whose watcher works takes one wait and one check; one whose watcher is down
 * wakes a new one at its first check (other runs' submits wake one sooner), so a lost watcher costs latency, never a
 * result.
 */
export function watchedPollDelayMs(input: WatchedPollInput): number | null {
  if (input.attempt >= input.maxChecks) return null;
  const remainingMs = input.deadlineMs - input.elapsedMs;
  if (remainingMs < MIN_DELAY_MS) return null;
  const expected = Math.max(MIN_DELAY_MS, input.expectedRenderMs);
  const checksLeft = input.maxChecks - input.attempt;
  const growingMs = WATCHED_FIRST_CHECK * expected * 2 ** Math.min(input.attempt, 30);
  // At least the first of `checksLeft` doubling waits that end on the deadline: the few checks always reach it, and
  // the first comes early (at 2.5 × the render, not at an even share of a long deadline).
  const doublingFloorMs = remainingMs / (2 ** Math.min(checksLeft, 30) - 1);
  const evenShareMs = Math.ceil(remainingMs / checksLeft / 1000) * 1000;
  const capMs = Math.max(input.slotLeaseMs / 2, evenShareMs);
  const wholeSeconds = Math.max(
    MIN_DELAY_MS,
    Math.round(Math.min(capMs, Math.max(growingMs, doublingFloorMs)) / 1000) * 1000,
  );
  return Math.min(wholeSeconds, Math.floor(remainingMs / 1000) * 1000);
}
