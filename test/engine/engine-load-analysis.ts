import type { SandboxTaskSummary } from "../../src/sandbox/index.ts";
import type { EngineLoadObservations, ObservedRun } from "./engine-load-run.ts";
import type { StepOp, TracedStep } from "./inngest-run-trace.ts";

/** A sample summarised; all in the sample's unit (ms or counts). Nearest-rank percentiles. */
export interface Distribution {
  count: number;
  min: number;
  median: number;
  mean: number;
  p95: number;
  max: number;
}

export function distribution(values: number[]): Distribution {
  const sorted = values.filter(Number.isFinite).sort((left, right) => left - right);
  const rank = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    median: rank(0.5),
    mean: sorted.length ? sorted.reduce((sum, value) => sum + value, 0) / sorted.length : Number.NaN,
    p95: rank(0.95),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** How a run of `video-generate` got its video. */
export type RunRole = "submitted" | "shared" | "cached";

export interface EngineLoadAnalysis {
  correctness: {
    requests: number;
    distinct: number;
    tasksCreated: number;
    tasksSucceeded: number;
    /** Requests with exactly one `completed` event carrying their generation id and their correlation. */
    completedOnce: number;
    completedEvents: number;
    failedEvents: number;
    /** `completed` events whose correlation is not the request's own. */
    wrongCorrelation: number;
    recordsSucceeded: number;
    slotsLeft: number;
    peakInFlight: number;
    submitsThrottled: number;
    queriesThrottled: number;
    statusQueries: number;
    /** video-generate runs by status. */
    runStatuses: Record<string, number>;
    /** Runs of other functions the batch caused (cancel or failure handlers); 0 when all went well. */
    otherRuns: number;
  };
  makespan: {
    /** First event sent → last `completed` event received. */
    makespanMs: number;
    firstSubmitMs: number;
    lastTaskEndMs: number;
    /** Σ over distinct tasks of drawn PENDING + render ÷ budget: the budget never idle. */
    areaBoundMs: number;
    longestTaskMs: number;
    /** Distinct tasks ÷ 5 submits/s. */
    pacingBoundMs: number;
    /** max(area, longest task, pacing): no scheduler with this budget can finish sooner. */
    minimumMs: number;
    /** The area bound plus the first submitted task's PENDING + render. */
    areaPlusFirstMs: number;
    /**
     * A perfect stage with no overhead at all: tasks in the order this stage submitted them, each submitted the
     * instant a slot is free (5 submits/s at most), render times as drawn.
     */
    idealListMs: number;
  };
  /** Provider-slot time (budget × makespan), as makespan-equivalents (÷ budget); the parts add up to the makespan. */
  occupancy: {
    drawnMs: number;
    /** Task lifetimes at the sandbox past the drawn time (its timers and ffmpeg). */
    overrunMs: number;
    /** Before each slot's first submit. */
    headIdleMs: number;
    /** Between a task's end and the next submit into its slot. */
    handOverIdleMs: number;
    handOvers: number;
    /** After each slot's last task ended, to the last `completed` event. */
    tailIdleMs: number;
    /**
     * Each hand-over at the provider, whatever signalled it: a task's end → the next task submitted into its slot
     * (ends and submits paired in time order, from the sandbox's own times).
     */
    handOverMs: Distribution;
  };
  /** What the provider was asked, and how it adds up per finished task. */
  provider: {
    statusQueries: number;
    listQueries: number;
    /** (status queries + list calls) ÷ tasks that ended; the copy step's query for the URL included. */
    queriesPerFinishedTask: number;
    /** Most queries admitted in any one second (the documented limit is 20). */
    peakQueriesPerSecond: number;
  };
  /**
   * Steps a run spent waiting (slot checks and waits, duplicate waits and checks, `wait-N` and `poll-N`), and the
   * wake-ups it sent (`wake-watcher…`), by role.
   */
  waitingSteps: Record<RunRole, Distribution>;
  /** The account's task watcher: its runs, their steps in all, and those steps per submitted task. */
  watcher: { runs: number; steps: number; stepsPerTask: number };
  /** The push, when it was on: endings pushed (not lost), lost, and the route's answers, as the emulator counts them. */
  push?: { delivered: number; lost: number; answers: Record<string, number> };
  /** Slot hand-overs traced end to end: the task of run R ends → R's poll sees it → W is woken → W's task. */
  handOver: {
    pairs: number;
    /** Task end → the end of the sleep before the poll that saw it (the poll schedule). */
    scheduleMs: Distribution;
    /** That sleep's end → the poll step starts (the server resuming a sleeping run). */
    sleepResumeMs: Distribution;
    /** The poll step itself (status call, slot release and grant, progress write). */
    pollStepMs: Distribution;
    /** Poll step end → `slot-handover` (the grant event sent) ends. */
    handOverStepMs: Distribution;
    /** `slot-handover` ends → the waiter's slot step starts (event ingestion, the wait matched, the run resumed). */
    wakeMs: Distribution;
    /** Waiter's slot step starts → its task exists at the sandbox (slot step, submit step with image upload). */
    slotAndSubmitMs: Distribution;
    totalMs: Distribution;
    /** Of `wakeMs`: grant event received by the server → the waiter's slot step starts. */
    eventToSlotStepMs: Distribution;
  };
  /** Every submitted task: its end at the sandbox → the end of the poll step that saw it. */
  detectionMs: Distribution;
  /** The same, for tasks the first check (`poll-0`, at 0.9 × the expected render) saw ended, and for the others. */
  detectionByCheck: { first: Distribution; later: Distribution };
  steps: {
    all: Distribution;
    byRole: Record<RunRole, Distribution>;
    worst: { generationId: string; role: RunRole; steps: number; composition: string };
    /** Step attempts beyond the first (retries), all runs. */
    retries: number;
  };
  /** A task's end at the sandbox (SUCCEEDED) → the `completed` event of a request it answered, received by the server. */
  successToCompleted: {
    submitters: Distribution;
    all: Distribution;
    /** For the submitting run, medians of: end → poll step end; → copy starts; copy; copy end → completed received. */
    parts: { detectMs: number; toCopyMs: number; copyMs: number; afterCopyMs: number };
  };
  /** Time between one step's end and the next step's start in a run, by what the first one was. */
  resume: { afterSleep: Distribution; afterEvent: Distribution; afterRun: Distribution };
  starts: {
    /** First event sent → the last video-generate run's first step started (the worker first called for it). */
    lastRunStartedMs: number;
    /** The same, as the server's run list reports the run started. */
    lastRunListedStartMs: number;
    firstTaskEndMs: number;
    /** Most video-generate runs whose first step started in one second (the throttle allows 10, burst 10). */
    peakStartsPerSecond: number;
    /** Slots freed by a poll and handed at once to a run already queued for one (`grantedTo` not empty). */
    releasesGranted: number;
    /** Slots freed with no run queued without a grant. */
    releasesUngranted: number;
    /** First event sent → the first of those. */
    firstUngrantedReleaseMs: number;
  };
  /** What the submit step expected the render to take (`renderEstimate` of its output). */
  estimate: {
    bySource: Record<string, number>;
    /** The last submit's learned estimate per duration bucket, ms. */
    lastLearnedMs: Record<string, number>;
    drawnMedianMs: number;
  };
}

/** The steps a run spends waiting: slot checks and waits, duplicate waits and checks, waits and checks of its task. */
const WAITING_STEP = /^(slot-\d+|slot-wait-\d+|duplicate-wait.*|duplicate-check.*|wait-\d+|poll-\d+)$/;

const byName = (trace: { steps: TracedStep[] }, name: string) =>
  trace.steps.find((step) => step.name === name);

export function roleOf(run: ObservedRun): RunRole {
  if (byName(run.trace, "submit")) return "submitted";
  if (run.trace.steps.some((step) => step.name.startsWith("duplicate-check"))) return "shared";
  return "cached";
}

/** What a run's steps are made of, e.g. `25 steps: 9 poll sleeps, 9 polls, 3 slot waits, ...`. */
function composition(steps: TracedStep[]): string {
  const kinds: Array<[string, RegExp]> = [
    ["poll sleeps (wait-n)", /^wait-\d+$/],
    ["polls", /^poll-\d+$/],
    ["slot checks", /^slot-\d+$/],
    ["slot waits", /^slot-wait-\d+$/],
    ["duplicate checks", /^duplicate-check/],
    ["duplicate waits", /^duplicate-wait/],
  ];
  const counted = kinds.map(([label, pattern]) => [
    label,
    steps.filter((step) => pattern.test(step.name)).length,
  ]);
  const rest = steps
    .filter((step) => !kinds.some(([, pattern]) => pattern.test(step.name)))
    .map((step) => step.name);
  return [
    ...counted.filter(([, count]) => count !== 0).map(([label, count]) => `${count} ${label}`),
    rest.join(", "),
  ].join("; ");
}

/** Start-ordered gaps between a step's end and the next step's start, keyed by the first step's kind. */
function resumeGaps(steps: TracedStep[]): Array<{ after: StepOp | "TIMEOUT"; ms: number }> {
  const ordered = steps
    .filter((step) => step.startedAt !== undefined && step.endedAt !== undefined)
    .sort((left, right) => left.startedAt! - right.startedAt!);
  return ordered.slice(1).map((step, index) => {
    const previous = ordered[index]!;
    return {
      after: previous.op === "WAIT_FOR_EVENT" && previous.timedOut ? "TIMEOUT" : previous.op,
      ms: step.startedAt! - previous.endedAt!,
    };
  });
}

/**
 * The FIFO accounting of provider slots: `budget` slots free at `sentAt`; each task end frees one, each submit takes
 * the one free the longest. Idle time before a slot's first task (head), between a task's end and the next submit
 * (hand-over) and after the last task (tail) plus the tasks' lifetimes is budget × makespan.
 */
function slotAccounting(tasks: SandboxTaskSummary[], sentAt: number, endAt: number, budget: number) {
  type Point = { at: number; kind: "end" | "submit" };
  const points: Point[] = [
    ...tasks.map((task) => ({ at: task.submitTime, kind: "submit" as const })),
    ...tasks.flatMap((task) =>
      task.endTime === undefined ? [] : [{ at: task.endTime, kind: "end" as const }],
    ),
  ].sort((left, right) => left.at - right.at || (left.kind === "end" ? -1 : 1));
  const free: Array<{ since: number; head: boolean }> = Array.from({ length: budget }, () => ({
    since: sentAt,
    head: true,
  }));
  let head = 0;
  let handOver = 0;
  let handOvers = 0;
  const handOverGaps: number[] = [];
  for (const point of points) {
    if (point.kind === "end") {
      free.push({ since: point.at, head: false });
      continue;
    }
    const slot = free.shift();
    if (!slot) throw new Error("more tasks in flight than the budget: the accounting does not apply");
    if (slot.head) head += point.at - slot.since;
    else {
      handOver += point.at - slot.since;
      handOvers += 1;
      handOverGaps.push(point.at - slot.since);
    }
  }
  const tail = free.reduce((sum, slot) => sum + (endAt - slot.since), 0);
  return { head, handOver, handOvers, handOverGaps, tail };
}

/** The makespan of a perfect list scheduler: `durations` in order, `budget` slots, at most 5 submits a second. */
function idealListMakespan(durations: number[], budget: number): number {
  const slotFree = Array.from({ length: budget }, () => 0);
  const submits: number[] = [];
  let end = 0;
  for (const [index, duration] of durations.entries()) {
    const slot = slotFree.indexOf(Math.min(...slotFree));
    const paced = index >= 5 ? submits[index - 5]! + 1_000 : 0;
    const start = Math.max(slotFree[slot]!, paced);
    submits.push(start);
    slotFree[slot] = start + duration;
    end = Math.max(end, start + duration);
  }
  return end;
}

export function analyseEngineLoad(observed: EngineLoadObservations): EngineLoadAnalysis {
  const { budget } = observed.options;
  const { sentAt, tasks } = observed;
  const taskById = new Map(tasks.map((task) => [task.taskId, task]));
  const runByGeneration = new Map(observed.runs.map((run) => [run.request.generationId, run]));
  const drawnByPrompt = new Map(observed.distinct.map((request) => [request.prompt, request]));
  const drawnOf = (task: SandboxTaskSummary) => {
    const request = drawnByPrompt.get(task.prompt ?? "");
    return request ? request.pendingMs + request.renderMs : Number.NaN;
  };

  // Correctness.
  const completed = observed.endings.filter((event) => event.name === "video/generation.completed");
  const completedById = new Map<string, typeof completed>();
  for (const event of completed) {
    const id = String(event.data.generation_id);
    completedById.set(id, [...(completedById.get(id) ?? []), event]);
  }
  const correlationMatches = (event: (typeof completed)[number], index: number) => {
    const correlation = event.data.correlation as Record<string, unknown> | null | undefined;
    return correlation?.benchmark === "engine-load" && correlation.request === index;
  };
  const completedOnce = observed.requests.filter((request) => {
    const events = completedById.get(request.generationId) ?? [];
    return events.length === 1 && correlationMatches(events[0]!, request.index);
  }).length;
  const requestById = new Map(observed.requests.map((request) => [request.generationId, request]));
  const wrongCorrelation = completed.filter((event) => {
    const request = requestById.get(String(event.data.generation_id));
    return !request || !correlationMatches(event, request.index);
  }).length;
  const runStatuses: Record<string, number> = {};
  for (const run of observed.runs) runStatuses[run.run.status] = (runStatuses[run.run.status] ?? 0) + 1;

  // Makespan and its bounds.
  const lastCompleted = Math.max(...completed.map((event) => event.receivedAt));
  const makespanMs = lastCompleted - sentAt;
  const submitOrder = [...tasks].sort((left, right) => left.submitTime - right.submitTime);
  const drawnTotal = observed.distinct.reduce(
    (sum, request) => sum + request.pendingMs + request.renderMs,
    0,
  );
  const longestTaskMs = Math.max(...observed.distinct.map((request) => request.pendingMs + request.renderMs));
  const areaBoundMs = drawnTotal / budget;
  const pacingBoundMs = (observed.distinct.length / 5) * 1000;
  const ends = tasks.flatMap((task) => (task.endTime === undefined ? [] : [task.endTime]));

  // Provider slots.
  const slots = slotAccounting(tasks, sentAt, lastCompleted, budget);
  const lifetimes = tasks.reduce((sum, task) => sum + ((task.endTime ?? lastCompleted) - task.submitTime), 0);
  const drawnOfTasks = tasks.reduce((sum, task) => sum + drawnOf(task), 0);

  // Slot hand-overs, end to end.
  const parts = {
    schedule: [] as number[],
    sleepResume: [] as number[],
    pollStep: [] as number[],
    handOverStep: [] as number[],
    wake: [] as number[],
    slotAndSubmit: [] as number[],
    total: [] as number[],
    eventToSlotStep: [] as number[],
  };
  const detection: number[] = [];
  const detectionFirst: number[] = [];
  const detectionLater: number[] = [];
  for (const releaser of observed.runs) {
    const task = releaser.submitted ? taskById.get(releaser.submitted.taskId) : undefined;
    const polls = releaser.trace.steps.filter((step) => /^poll-\d+$/.test(step.name));
    const poll = polls.at(-1);
    if (!task?.endTime || !poll?.endedAt || !poll.startedAt) continue;
    detection.push(poll.endedAt - task.endTime);
    (poll.name === "poll-0" ? detectionFirst : detectionLater).push(poll.endedAt - task.endTime);
    const sleep = byName(releaser.trace, `wait-${poll.name.slice("poll-".length)}`);
    const handOver = byName(releaser.trace, "slot-handover");
    for (const waiterId of releaser.lastPoll?.grantedTo ?? []) {
      const waiter = runByGeneration.get(waiterId);
      const waiterTask = waiter?.submitted ? taskById.get(waiter.submitted.taskId) : undefined;
      const slotStep = waiter?.trace.steps.filter((step) => /^slot-\d+$/.test(step.name)).at(-1);
      if (!waiterTask || !slotStep?.startedAt || !sleep?.endedAt || !handOver?.endedAt) continue;
      const grant = observed.slotGrants
        .filter(
          (event) => event.data.generation_id === waiterId && event.receivedAt >= poll.startedAt! - 1_000,
        )
        .sort((left, right) => left.receivedAt - right.receivedAt)[0];
      parts.schedule.push(sleep.endedAt - task.endTime);
      parts.sleepResume.push(poll.startedAt - sleep.endedAt);
      parts.pollStep.push(poll.endedAt - poll.startedAt);
      parts.handOverStep.push(handOver.endedAt - poll.endedAt);
      parts.wake.push(slotStep.startedAt - handOver.endedAt);
      parts.slotAndSubmit.push(waiterTask.submitTime - slotStep.startedAt);
      parts.total.push(waiterTask.submitTime - task.endTime);
      if (grant) parts.eventToSlotStep.push(slotStep.startedAt - grant.receivedAt);
    }
  }

  // Steps per run.
  const roles = new Map(observed.runs.map((run) => [run, roleOf(run)]));
  const counts = (role?: RunRole) =>
    distribution(
      observed.runs.filter((run) => !role || roles.get(run) === role).map((run) => run.trace.steps.length),
    );
  const waitingOf = (role: RunRole) =>
    distribution(
      observed.runs
        .filter((run) => roles.get(run) === role)
        .map((run) => run.trace.steps.filter((step) => WAITING_STEP.test(step.name)).length),
    );
  const worstRun = [...observed.runs].sort(
    (left, right) => right.trace.steps.length - left.trace.steps.length,
  )[0];

  // SUCCEEDED → completed.
  const allLags: number[] = [];
  const submitterLags: number[] = [];
  const detectParts: number[] = [];
  const toCopy: number[] = [];
  const copyParts: number[] = [];
  const afterCopy: number[] = [];
  for (const event of completed) {
    const task = taskById.get(String(event.data.task_id));
    if (!task?.endTime) continue;
    allLags.push(event.receivedAt - task.endTime);
    const run = runByGeneration.get(String(event.data.generation_id));
    if (!run?.submitted || run.submitted.taskId !== task.taskId) continue;
    submitterLags.push(event.receivedAt - task.endTime);
    const poll = run.trace.steps.filter((step) => /^poll-\d+$/.test(step.name)).at(-1);
    const copy = byName(run.trace, "copy");
    if (poll?.endedAt && copy?.startedAt && copy.endedAt) {
      detectParts.push(poll.endedAt - task.endTime);
      toCopy.push(copy.startedAt - poll.endedAt);
      copyParts.push(copy.endedAt - copy.startedAt);
      afterCopy.push(event.receivedAt - copy.endedAt);
    }
  }

  // The server resuming runs.
  const gaps = observed.runs.flatMap((run) => resumeGaps(run.trace.steps));
  const gapsAfter = (kind: StepOp) =>
    distribution(gaps.filter((gap) => gap.after === kind).map((gap) => gap.ms));

  // Starts and the throttle.
  const firstStepAt = (run: ObservedRun) =>
    Math.min(...run.trace.steps.flatMap((step) => (step.startedAt === undefined ? [] : [step.startedAt])));
  const startOffsets = observed.runs.map((run) => firstStepAt(run) - sentAt);
  const listedStartOffsets = observed.runs.flatMap((run) =>
    run.run.startedAt === undefined ? [] : [run.run.startedAt - sentAt],
  );
  const perSecond = new Map<number, number>();
  for (const offset of startOffsets) {
    const second = Math.floor(offset / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }

  const releases = observed.runs.flatMap((run) => {
    const task = run.submitted ? taskById.get(run.submitted.taskId) : undefined;
    return task?.endTime === undefined || !run.lastPoll
      ? []
      : [{ at: task.endTime, granted: (run.lastPoll.grantedTo ?? []).length > 0 }];
  });

  // The render estimate the submits used.
  const bySource: Record<string, number> = {};
  const lastLearnedMs: Record<string, number> = {};
  const submitters = observed.runs
    .filter((run) => run.submitted)
    .sort(
      (left, right) =>
        (taskById.get(left.submitted!.taskId)?.submitTime ?? 0) -
        (taskById.get(right.submitted!.taskId)?.submitTime ?? 0),
    );
  for (const run of submitters) {
    const estimate = run.submitted!.renderEstimate;
    const source = estimate?.source ?? "none";
    bySource[source] = (bySource[source] ?? 0) + 1;
    const duration = observed.distinct[run.request.distinctIndex]!.duration;
    if (estimate?.source === "learned")
      lastLearnedMs[duration <= 4 ? "2-4 s" : "5-8 s"] = estimate.expectedMs;
  }

  return {
    correctness: {
      requests: observed.requests.length,
      distinct: observed.distinct.length,
      tasksCreated: tasks.length,
      tasksSucceeded: tasks.filter((task) => task.status === "SUCCEEDED").length,
      completedOnce,
      completedEvents: completed.length,
      failedEvents: observed.endings.length - completed.length,
      wrongCorrelation,
      recordsSucceeded: Object.values(observed.recordStatuses).filter((status) => status === "succeeded")
        .length,
      slotsLeft: observed.slotsLeft,
      peakInFlight: observed.sandboxStats.peakInFlight,
      submitsThrottled: observed.sandboxStats.submitsThrottled,
      queriesThrottled: observed.sandboxStats.queriesThrottled,
      statusQueries: observed.sandboxStats.statusQueries,
      runStatuses,
      otherRuns: observed.allRuns.length - observed.runs.length,
    },
    makespan: {
      makespanMs,
      firstSubmitMs: (submitOrder[0]?.submitTime ?? Number.NaN) - sentAt,
      lastTaskEndMs: Math.max(...ends) - sentAt,
      areaBoundMs,
      longestTaskMs,
      pacingBoundMs,
      minimumMs: Math.max(areaBoundMs, longestTaskMs, pacingBoundMs),
      areaPlusFirstMs: areaBoundMs + (submitOrder[0] ? drawnOf(submitOrder[0]) : 0),
      idealListMs: idealListMakespan(submitOrder.map(drawnOf), budget),
    },
    occupancy: {
      drawnMs: drawnOfTasks / budget,
      overrunMs: (lifetimes - drawnOfTasks) / budget,
      headIdleMs: slots.head / budget,
      handOverIdleMs: slots.handOver / budget,
      handOvers: slots.handOvers,
      tailIdleMs: slots.tail / budget,
      handOverMs: distribution(slots.handOverGaps),
    },
    provider: {
      statusQueries: observed.sandboxStats.statusQueries,
      listQueries: observed.sandboxStats.listQueries,
      queriesPerFinishedTask:
        (observed.sandboxStats.statusQueries + observed.sandboxStats.listQueries) / Math.max(1, ends.length),
      peakQueriesPerSecond: observed.sandboxStats.peakQueriesPerSecond,
    },
    waitingSteps: {
      submitted: waitingOf("submitted"),
      shared: waitingOf("shared"),
      cached: waitingOf("cached"),
    },
    watcher: {
      runs: observed.watcherRuns.length,
      steps: observed.watcherRuns.reduce((sum, run) => sum + run.steps, 0),
      stepsPerTask: observed.watcherRuns.reduce((sum, run) => sum + run.steps, 0) / Math.max(1, tasks.length),
    },
    ...(observed.pushStats
      ? {
          push: {
            delivered: observed.pushStats.ended - observed.pushStats.lost,
            lost: observed.pushStats.lost,
            answers: observed.pushStats.answers,
          },
        }
      : {}),
    handOver: {
      pairs: parts.total.length,
      scheduleMs: distribution(parts.schedule),
      sleepResumeMs: distribution(parts.sleepResume),
      pollStepMs: distribution(parts.pollStep),
      handOverStepMs: distribution(parts.handOverStep),
      wakeMs: distribution(parts.wake),
      slotAndSubmitMs: distribution(parts.slotAndSubmit),
      totalMs: distribution(parts.total),
      eventToSlotStepMs: distribution(parts.eventToSlotStep),
    },
    detectionMs: distribution(detection),
    detectionByCheck: { first: distribution(detectionFirst), later: distribution(detectionLater) },
    steps: {
      all: counts(),
      byRole: { submitted: counts("submitted"), shared: counts("shared"), cached: counts("cached") },
      worst: worstRun
        ? {
            generationId: worstRun.request.generationId,
            role: roleOf(worstRun),
            steps: worstRun.trace.steps.length,
            composition: composition(worstRun.trace.steps),
          }
        : { generationId: "", role: "submitted", steps: 0, composition: "" },
      retries: observed.runs.reduce(
        (sum, run) => sum + run.trace.steps.reduce((steps, step) => steps + step.attempts - 1, 0),
        0,
      ),
    },
    successToCompleted: {
      submitters: distribution(submitterLags),
      all: distribution(allLags),
      parts: {
        detectMs: distribution(detectParts).median,
        toCopyMs: distribution(toCopy).median,
        copyMs: distribution(copyParts).median,
        afterCopyMs: distribution(afterCopy).median,
      },
    },
    resume: {
      afterSleep: gapsAfter("SLEEP"),
      afterEvent: gapsAfter("WAIT_FOR_EVENT"),
      afterRun: gapsAfter("RUN"),
    },
    starts: {
      lastRunStartedMs: Math.max(...startOffsets),
      lastRunListedStartMs: Math.max(...listedStartOffsets),
      firstTaskEndMs: Math.min(...ends) - sentAt,
      peakStartsPerSecond: Math.max(...perSecond.values()),
      releasesGranted: releases.filter((release) => release.granted).length,
      releasesUngranted: releases.filter((release) => !release.granted).length,
      firstUngrantedReleaseMs:
        Math.min(...releases.filter((release) => !release.granted).map((release) => release.at)) - sentAt,
    },
    estimate: {
      bySource,
      lastLearnedMs,
      drawnMedianMs: distribution(observed.distinct.map((request) => request.renderMs)).median,
    },
  };
}
