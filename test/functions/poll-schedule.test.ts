import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { runPollScheduleBenchmark } from "../../bench/poll-schedule-benchmark.ts";
import { ConfigurationError } from "../../src/errors/configuration-error.ts";
import {
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_CHECKS,
  expectedRenderMs,
  nextPollDelayMs,
  type PollScheduleInput,
} from "../../src/functions/poll-schedule.ts";

const SECOND = 1000;
/** The estimate for the default request, 5 s at 720P: 53 s. */
const FIVE_SECOND_720P_MS = expectedRenderMs({ duration: 5, resolution: "720P" });

function schedule(overrides: Partial<PollScheduleInput> & Pick<PollScheduleInput, "expectedRenderMs">) {
  return nextPollDelayMs({
    attempt: 0,
    elapsedMs: 0,
    deadlineMs: DEFAULT_DEADLINE_MS,
    maxChecks: DEFAULT_MAX_CHECKS,
    ...overrides,
  });
}

/**
 * Drives the schedule the way the durable function does against a task that is PENDING until `runningAtMs` and
 * done at `finishedAtMs` (Infinity: never). Returns every delay, the number of checks and the detection lag.
 */
function simulate(options: {
  expectedRenderMs: number;
  finishedAtMs: number;
  runningAtMs?: number;
  deadlineMs?: number;
}) {
  const { runningAtMs = 0, deadlineMs = DEFAULT_DEADLINE_MS } = options;
  const delays: number[] = [];
  let elapsedMs = 0;
  let providerStatus: "pending" | "running" | undefined;
  let runningSinceMs: number | undefined;
  for (;;) {
    const delay = nextPollDelayMs({
      attempt: delays.length,
      elapsedMs,
      providerStatus,
      runningSinceMs,
      expectedRenderMs: options.expectedRenderMs,
      deadlineMs,
      maxChecks: DEFAULT_MAX_CHECKS,
    });
    if (delay === null) return { delays, checks: delays.length, lagMs: null, elapsedMs };
    delays.push(delay);
    elapsedMs += delay;
    if (elapsedMs >= options.finishedAtMs) {
      return { delays, checks: delays.length, lagMs: elapsedMs - options.finishedAtMs, elapsedMs };
    }
    if (elapsedMs >= runningAtMs) {
      providerStatus = "running";
      runningSinceMs ??= elapsedMs;
    } else providerStatus = "pending";
  }
}

describe("expectedRenderMs", () => {
  test("matches the documented figures: 10 s 720P took 59-73 s in the docs' examples", () => {
    expect(expectedRenderMs({ duration: 10, resolution: "720P" })).toBe(65 * SECOND);
  });

  test("stays within the reported 45-180 s and grows with duration and resolution", () => {
    for (const resolution of ["720P", "1080P"] as const) {
      let previous = 0;
      for (let duration = 2; duration <= 15; duration++) {
        const estimate = expectedRenderMs({ duration, resolution });
        expect(estimate).toBeGreaterThanOrEqual(45 * SECOND);
        expect(estimate).toBeLessThanOrEqual(180 * SECOND);
        expect(estimate).toBeGreaterThan(previous);
        expect(estimate % SECOND).toBe(0);
        expect(estimate).toBeGreaterThan(
          resolution === "1080P" ? expectedRenderMs({ duration, resolution: "720P" }) : 0,
        );
        previous = estimate;
      }
    }
  });

  test("puts the median of typical requests (5 s and 10 s, 720P and 1080P) near the reported 75 s", () => {
    const estimates = [5, 10]
      .flatMap((duration) =>
        (["720P", "1080P"] as const).map((resolution) => expectedRenderMs({ duration, resolution })),
      )
      .sort((a, b) => a - b);
    const median = (estimates[1]! + estimates[2]!) / 2;
    expect(median).toBeGreaterThanOrEqual(70 * SECOND);
    expect(median).toBeLessThanOrEqual(80 * SECOND);
  });

  test("an override replaces the table", () => {
    expect(expectedRenderMs({ duration: 15, resolution: "1080P", overrideSeconds: 3 })).toBe(3 * SECOND);
    expect(expectedRenderMs({ duration: 5, resolution: "720P", overrideSeconds: 0.25 })).toBe(250);
  });

  test("a non-positive or non-finite override is a configuration error naming the variable", () => {
    for (const overrideSeconds of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => expectedRenderMs({ duration: 5, resolution: "720P", overrideSeconds })).toThrow(
        ConfigurationError,
      );
    }
    expect(() => expectedRenderMs({ duration: 5, resolution: "720P", overrideSeconds: 0 })).toThrow(
      /VIDEO_GEN_RENDER_ESTIMATE_S/,
    );
  });
});

describe("nextPollDelayMs", () => {
  test("the first check lands near the expected render time, not at 0, and scales with it", () => {
    expect(schedule({ expectedRenderMs: 20 * SECOND })).toBe(18 * SECOND);
    expect(schedule({ expectedRenderMs: 40 * SECOND })).toBe(36 * SECOND);
    expect(schedule({ expectedRenderMs: FIVE_SECOND_720P_MS })).toBe(48 * SECOND);
    // Beyond 60 s the first wait is cut into 60 s sleeps that still end at 0.9 E.
    expect(
      simulate({ expectedRenderMs: 200 * SECOND, finishedAtMs: 180 * SECOND }).delays.slice(0, 3),
    ).toEqual([60 * SECOND, 60 * SECOND, 60 * SECOND]);
  });

  test("an overridden few-second estimate (the sandbox demo) checks after seconds, not a minute", () => {
    const estimate = expectedRenderMs({ duration: 5, resolution: "720P", overrideSeconds: 3 });
    const run = simulate({ expectedRenderMs: estimate, finishedAtMs: 4 * SECOND });
    expect(run.delays).toEqual([3 * SECOND, 1 * SECOND]);
    expect(run.lagMs).toBe(0);
  });

  test("intervals are dense around the expected finish and grow after it, never shrinking", () => {
    const { delays } = simulate({
      expectedRenderMs: FIVE_SECOND_720P_MS,
      finishedAtMs: Number.POSITIVE_INFINITY,
    });
    const afterFirst = delays.slice(1, -1); // the last one is cut by the deadline
    for (let index = 1; index < afterFirst.length; index++) {
      expect(afterFirst[index]!).toBeGreaterThanOrEqual(afterFirst[index - 1]!);
    }
    // Dense phase: 0.16 E; tail: up to the 60 s cap.
    expect(afterFirst[0]).toBe(8 * SECOND);
    expect(afterFirst.at(-1)).toBe(60 * SECOND);
    expect(delays[0]!).toBeGreaterThan(afterFirst[0]!);
  });

  test("the check count is bounded: the deadline is reached well within DEFAULT_MAX_CHECKS", () => {
    expect(2 * DEFAULT_MAX_CHECKS + 20).toBeLessThan(1000); // a sleep and a check per iteration, plus other steps
    for (const estimate of [1 * SECOND, 3 * SECOND, FIVE_SECOND_720P_MS, 167 * SECOND, 30 * 60 * SECOND]) {
      const run = simulate({ expectedRenderMs: estimate, finishedAtMs: Number.POSITIVE_INFINITY });
      expect(run.checks).toBeLessThan(DEFAULT_MAX_CHECKS);
      expect(run.elapsedMs).toBe(DEFAULT_DEADLINE_MS);
    }
    expect(
      schedule({ expectedRenderMs: FIVE_SECOND_720P_MS, attempt: 5, maxChecks: 5, elapsedMs: 90 * SECOND }),
    ).toBe(null);
    const capped = simulate({ expectedRenderMs: 1 * SECOND, finishedAtMs: Number.POSITIVE_INFINITY });
    expect(capped.checks).toBeGreaterThan(10);
  });

  test("maxChecks ends the schedule early when it binds", () => {
    let elapsedMs = 0;
    let attempt = 0;
    for (;;) {
      const delay = schedule({
        expectedRenderMs: FIVE_SECOND_720P_MS,
        attempt,
        elapsedMs,
        providerStatus: attempt === 0 ? undefined : "running",
        runningSinceMs: attempt === 0 ? undefined : 48 * SECOND,
        maxChecks: 7,
      });
      if (delay === null) break;
      elapsedMs += delay;
      attempt += 1;
    }
    expect(attempt).toBe(7);
    expect(elapsedMs).toBeLessThan(DEFAULT_DEADLINE_MS);
  });

  test("the last delay is cut so the final check lands on the deadline, and nothing follows it", () => {
    const tail = { expectedRenderMs: FIVE_SECOND_720P_MS, attempt: 40, providerStatus: "running" as const };
    const deadlineMs = 20 * 60 * SECOND;
    expect(schedule({ ...tail, elapsedMs: deadlineMs - 5 * 60 * SECOND, deadlineMs })).toBe(60 * SECOND);
    expect(schedule({ ...tail, elapsedMs: deadlineMs - 7 * SECOND, deadlineMs })).toBe(7 * SECOND);
    // A clock-measured elapsed time: the final check lands on the whole second at or before the deadline.
    expect(schedule({ ...tail, elapsedMs: deadlineMs - 7_400, deadlineMs })).toBe(7 * SECOND);
    expect(schedule({ ...tail, elapsedMs: deadlineMs - 400, deadlineMs })).toBeNull();
    expect(schedule({ ...tail, elapsedMs: deadlineMs, deadlineMs })).toBeNull();
    expect(schedule({ ...tail, elapsedMs: deadlineMs + 5 * SECOND, deadlineMs })).toBeNull();

    const run = simulate({
      expectedRenderMs: FIVE_SECOND_720P_MS,
      finishedAtMs: Number.POSITIVE_INFINITY,
      deadlineMs,
    });
    expect(run.elapsedMs).toBe(deadlineMs);
    expect(run.lagMs).toBeNull();
  });

  test("PENDING restarts the wait: the finish is expected later than for a RUNNING task", () => {
    const common = { expectedRenderMs: FIVE_SECOND_720P_MS, attempt: 1, elapsedMs: 48 * SECOND };
    expect(schedule({ ...common, providerStatus: "running", runningSinceMs: 48 * SECOND })).toBe(8 * SECOND);
    expect(schedule({ ...common, providerStatus: "pending" })).toBe(48 * SECOND);

    // RUNNING first seen after a PENDING phase: denser later on than for a task that ran from the first check.
    const late = { expectedRenderMs: FIVE_SECOND_720P_MS, attempt: 8, elapsedMs: 150 * SECOND };
    const ranFromStart = schedule({ ...late, providerStatus: "running", runningSinceMs: 48 * SECOND })!;
    const queuedFirst = schedule({ ...late, providerStatus: "running", runningSinceMs: 96 * SECOND })!;
    expect(queuedFirst).toBeLessThan(ranFromStart);

    // End to end: a task queued for two minutes is found with the same small lag as one that never queued.
    const queued = simulate({
      expectedRenderMs: FIVE_SECOND_720P_MS,
      runningAtMs: 120 * SECOND,
      finishedAtMs: 195 * SECOND,
    });
    const direct = simulate({ expectedRenderMs: FIVE_SECOND_720P_MS, finishedAtMs: 75 * SECOND });
    expect(queued.lagMs).toBeLessThanOrEqual(8 * SECOND);
    expect(direct.lagMs).toBeLessThanOrEqual(8 * SECOND);
  });

  test("checks and lag for renders of 45 s, 75 s, 180 s and 29 min (5 s 720P estimate)", () => {
    const run = (finishedAtS: number) => {
      const { checks, lagMs } = simulate({
        expectedRenderMs: FIVE_SECOND_720P_MS,
        finishedAtMs: finishedAtS * SECOND,
      });
      return { checks, lagS: lagMs === null ? null : lagMs / SECOND };
    };
    // Exact values pin the tuned shape; retuning it (bench/poll-schedule-benchmark.ts) updates them.
    expect(run(45)).toEqual({ checks: 1, lagS: 3 });
    expect(run(75)).toEqual({ checks: 5, lagS: 5 });
    expect(run(180)).toEqual({ checks: 15, lagS: 13 });
    expect(run(29 * 60)).toEqual({ checks: 47, lagS: 38 });
    // The 20 QPS account limit: a 15 s fixed interval would need 116 checks for the 29 min render.
    expect(run(29 * 60).checks).toBeLessThan(29 * 4);
  });

  test("any input gives null or whole seconds in [1 s, 60 s] (more only to reach the deadline) that never pass it", () => {
    const input = fc.record({
      attempt: fc.nat({ max: 300 }),
      elapsedMs: fc.nat({ max: 4 * 60 * 60 * SECOND }),
      providerStatus: fc.constantFrom(undefined, "pending" as const, "running" as const),
      runningSinceMs: fc.option(fc.nat({ max: 4 * 60 * 60 * SECOND }), { nil: undefined }),
      expectedRenderMs: fc.integer({ min: 0, max: 2 * 60 * 60 * SECOND }),
      deadlineMs: fc.nat({ max: 4 * 60 * 60 * SECOND }),
      maxChecks: fc.nat({ max: 300 }),
    });
    fc.assert(
      fc.property(input, (value) => {
        const delay = nextPollDelayMs(value);
        if (value.attempt >= value.maxChecks || value.elapsedMs >= value.deadlineMs) expect(delay).toBeNull();
        if (delay === null) return;
        expect(Number.isInteger(delay / SECOND)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(1 * SECOND);
        const evenShare = (value.deadlineMs - value.elapsedMs) / (value.maxChecks - value.attempt);
        expect(delay).toBeLessThanOrEqual(Math.max(60 * SECOND, Math.ceil(evenShare / SECOND) * SECOND));
        expect(value.elapsedMs + delay).toBeLessThanOrEqual(value.deadlineMs);
      }),
      { numRuns: 5000, seed: 42 },
    );
  });
});

test("while another generation waits for the slot, checks start at half the estimate and come every 2 % of it", () => {
  const expected = 75 * SECOND;
  const base = { expectedRenderMs: expected, deadlineMs: DEFAULT_DEADLINE_MS, maxChecks: 100 };
  expect(nextPollDelayMs({ ...base, attempt: 0, elapsedMs: 0 })).toBe(60 * SECOND);
  expect(nextPollDelayMs({ ...base, attempt: 0, elapsedMs: 0, slotWanted: true })).toBe(38 * SECOND);
  const running = { ...base, attempt: 1, providerStatus: "running" as const, runningSinceMs: 38 * SECOND };
  expect(nextPollDelayMs({ ...running, elapsedMs: 38 * SECOND, slotWanted: true })).toBe(2 * SECOND);
  // Without a waiter the same task is left alone longer.
  expect(nextPollDelayMs({ ...running, elapsedMs: 38 * SECOND })).toBeGreaterThanOrEqual(12 * SECOND);
  // Past the dense window the ordinary tail resumes: a late task is not polled every 2 s for ever.
  expect(
    nextPollDelayMs({ ...running, attempt: 40, elapsedMs: 200 * SECOND, slotWanted: true }),
  ).toBeGreaterThan(10 * SECOND);
});

test("a deadline longer than the checks cover at one a minute stretches the interval until they reach it", () => {
  const deadlineMs = 86_399 * SECOND;
  let elapsedMs = 0;
  let checks = 0;
  for (;;) {
    const delay = nextPollDelayMs({
      attempt: checks,
      elapsedMs,
      expectedRenderMs: 53 * SECOND,
      deadlineMs,
      maxChecks: 100,
    });
    if (delay === null) break;
    elapsedMs += delay;
    checks++;
  }
  expect(checks).toBeLessThanOrEqual(100);
  expect(elapsedMs).toBeGreaterThan(deadlineMs - 60 * SECOND);
});

describe("benchmark target", () => {
  test("fewer checks per job than a fixed 15 s interval, with a mean lag under 5 s", () => {
    const { rows, learning } = runPollScheduleBenchmark({ jobs: 4000, rateJobs: 500 });
    // Seeded at half or twice the correct estimate, the learning schedule ends within 10 % of the correct one.
    const [correct, half, double] = learning;
    for (const row of [half!, double!]) {
      expect(Math.abs(row.meanChecks / correct!.meanChecks - 1)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(row.meanLagS / correct!.meanLagS - 1)).toBeLessThanOrEqual(0.1);
    }
    const ours = rows[0]!;
    const fixed15 = rows.find((row) => row.name.startsWith("fixed 15 s"))!;
    expect(ours.name).toMatch(/^ours \(/);
    expect(ours.meanChecks).toBeLessThanOrEqual(fixed15.meanChecks);
    expect(ours.meanLagS).toBeLessThan(5);
    expect(rows.every((row) => row.undetected === 0)).toBe(true);
  });
});
