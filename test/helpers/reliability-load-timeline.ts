import {
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_CHECKS,
  expectedRenderMs,
  nextPollDelayMs,
} from "../../src/functions/poll-schedule.ts";
import type { RunnerStepEvent } from "../../src/runner/in-process-runner.ts";
import type { SandboxTaskSummary } from "../../src/sandbox/index.ts";

/** When one run held a budget slot, from its step events; epoch milliseconds (the sandbox's clock). */
interface SlotHold {
  /** End of the `slot-N` step that acquired the slot (the last slot step of the run). */
  acquiredAt: number;
  /** End of the last `poll-N` step: the check that saw the task end and released the slot. */
  releasedAt: number;
  taskId: string;
}

/**
 * Where the makespan goes. The first group is in makespan-equivalent milliseconds (a sum over the runs that held a
 * slot, divided by the budget), so the parts add up to the makespan: budget × makespan = Σ slot holds + idle slot
 * time, and each hold is submit + PENDING + RUNNING + detection lag.
 */
export interface LoadTimeBreakdown {
  /** Σ drawn render times ÷ budget: the part of the theoretical minimum spent rendering. */
  drawnRenderMs: number;
  /** Σ configured PENDING time ÷ budget: the rest of the theoretical minimum. */
  configuredPendingMs: number;
  /** Σ (slot acquired → task created at the provider) ÷ budget: the submit step (image upload, POST). */
  submitMs: number;
  /** Σ (measured PENDING − configured) ÷ budget: timer lateness on a busy event loop. */
  pendingOverrunMs: number;
  /** Σ (measured RUNNING − drawn render time) ÷ budget: the sandbox's real ffmpeg render and timer lateness. */
  renderOverrunMs: number;
  /** Σ (task ended → the poll that saw it released the slot) ÷ budget: the poll schedule's detection lag. */
  detectionLagMs: number;
  /**
   * The part of `detectionLagMs` the schedule itself makes: the same schedule replayed on each task's measured
   * PENDING and RUNNING times with instant steps (as the handler computes it: elapsed = Σ sleeps). The rest is the
   * time the steps themselves take (status call, slot renewal, progress write), which the time scale does not shrink.
   */
  scheduleLagMs: number;
  /** Idle slot time before the last slot was acquired ÷ budget: freed slots no waiting run had taken yet. */
  idleWhileQueuedMs: number;
  /** Idle slot time after the last acquire ÷ budget: the tail (fewer runs than slots, then copy and persist). */
  idleTailMs: number;
  /** Means per run that held a slot, real milliseconds. */
  perTask: { submitMs: number; renderOverrunMs: number; detectionLagMs: number; scheduleLagMs: number };
  /** Slot steps (`slot-N`) run by all runs, and the most one run needed. */
  slotAttempts: { total: number; maxPerRun: number };
  /** Status checks (`poll-N`) run by all runs. */
  statusChecks: number;
}

/** Collects slot acquire and release times from the runner's step events, per run. */
export function createLoadTimeline() {
  const runs = new Map<
    string,
    { acquiredAt?: number; releasedAt?: number; slotSteps: number; polls: number }
  >();
  return {
    /** The `onStep` listener for the run with this generation id. */
    listener(generationId: string) {
      const run = { slotSteps: 0, polls: 0 } as {
        acquiredAt?: number;
        releasedAt?: number;
        slotSteps: number;
        polls: number;
      };
      runs.set(generationId, run);
      return (event: RunnerStepEvent) => {
        if (event.kind !== "step-completed") return;
        if (/^slot-\d+$/.test(event.id)) {
          run.slotSteps += 1;
          run.acquiredAt = Date.now();
        } else if (/^poll-\d+$/.test(event.id)) {
          run.polls += 1;
          run.releasedAt = Date.now();
        }
      };
    },
    /**
     * The breakdown of a finished load run. `taskOf` maps a generation id to the task its run submitted (undefined
     * for duplicates, which hold no slot); `drawnRenderMs` gives a task's drawn render time.
     */
    breakdown(input: {
      startedAt: number;
      endedAt: number;
      budget: number;
      configuredPendingMs: number;
      tasks: readonly SandboxTaskSummary[];
      taskOf: (generationId: string) => string | undefined;
      drawnRenderMs: (task: SandboxTaskSummary) => number;
      /** Real time is divided by this (the stage's sleeps run this much faster). */
      timeScale: number;
    }): LoadTimeBreakdown {
      const tasksById = new Map(input.tasks.map((task) => [task.taskId, task]));
      const holds: SlotHold[] = [];
      let slotTotal = 0;
      let slotMax = 0;
      let statusChecks = 0;
      for (const [generationId, run] of runs) {
        slotTotal += run.slotSteps;
        slotMax = Math.max(slotMax, run.slotSteps);
        statusChecks += run.polls;
        const taskId = input.taskOf(generationId);
        if (taskId && run.acquiredAt !== undefined && run.releasedAt !== undefined) {
          holds.push({ acquiredAt: run.acquiredAt, releasedAt: run.releasedAt, taskId });
        }
      }
      const sums = {
        drawn: 0,
        pending: 0,
        submit: 0,
        pendingOverrun: 0,
        renderOverrun: 0,
        lag: 0,
        scheduleLag: 0,
      };
      for (const hold of holds) {
        const task = tasksById.get(hold.taskId);
        if (!task?.scheduledTime || !task.endTime) continue;
        const drawn = input.drawnRenderMs(task);
        sums.drawn += drawn;
        sums.pending += input.configuredPendingMs;
        sums.submit += task.submitTime - hold.acquiredAt;
        sums.pendingOverrun += task.scheduledTime - task.submitTime - input.configuredPendingMs;
        sums.renderOverrun += task.endTime - task.scheduledTime - drawn;
        sums.lag += hold.releasedAt - task.endTime;
        sums.scheduleLag += scheduleLagMs(task, input.timeScale);
      }
      const lastAcquire = Math.max(...holds.map((hold) => hold.acquiredAt));
      const idleBetween = (from: number, to: number) =>
        input.budget * (to - from) -
        holds.reduce(
          (sum, hold) => sum + Math.max(0, Math.min(hold.releasedAt, to) - Math.max(hold.acquiredAt, from)),
          0,
        );
      const perBudget = (value: number) => value / input.budget;
      const count = Math.max(1, holds.length);
      return {
        drawnRenderMs: perBudget(sums.drawn),
        configuredPendingMs: perBudget(sums.pending),
        submitMs: perBudget(sums.submit),
        pendingOverrunMs: perBudget(sums.pendingOverrun),
        renderOverrunMs: perBudget(sums.renderOverrun),
        detectionLagMs: perBudget(sums.lag),
        scheduleLagMs: perBudget(sums.scheduleLag),
        idleWhileQueuedMs: perBudget(idleBetween(input.startedAt, lastAcquire)),
        idleTailMs: perBudget(idleBetween(lastAcquire, input.endedAt)),
        perTask: {
          submitMs: sums.submit / count,
          renderOverrunMs: sums.renderOverrun / count,
          detectionLagMs: sums.lag / count,
          scheduleLagMs: sums.scheduleLag / count,
        },
        slotAttempts: { total: slotTotal, maxPerRun: slotMax },
        statusChecks,
      };
    },
  };
}

/**
 * Real milliseconds from a task's end to the check that sees it, on the stage's poll schedule alone: the handler's
 * loop replayed with instant steps (its elapsed time is the sum of its sleeps), on the task's measured PENDING and
 * RUNNING times scaled up to schedule time.
 */
function scheduleLagMs(task: SandboxTaskSummary, timeScale: number): number {
  const runningAt = ((task.scheduledTime ?? task.submitTime) - task.submitTime) * timeScale;
  const endedAt = ((task.endTime ?? task.submitTime) - task.submitTime) * timeScale;
  const expected = expectedRenderMs({ duration: task.duration, resolution: task.resolution });
  let elapsedMs = 0;
  let runningSinceMs: number | undefined;
  let status: "pending" | "running" | undefined;
  for (let attempt = 0; ; attempt++) {
    const delay = nextPollDelayMs({
      attempt,
      elapsedMs,
      providerStatus: status,
      runningSinceMs,
      expectedRenderMs: expected,
      deadlineMs: DEFAULT_DEADLINE_MS,
      maxChecks: DEFAULT_MAX_CHECKS,
    });
    if (delay === null) return 0;
    elapsedMs += delay;
    if (elapsedMs >= endedAt) return (elapsedMs - endedAt) / timeScale;
    status = elapsedMs >= runningAt ? "running" : "pending";
    if (status === "running" && runningSinceMs === undefined) runningSinceMs = elapsedMs;
  }
}
