import { randomUUID } from "node:crypto";
import { NonRetriableError, RetryAfterError } from "inngest";
import type { StageContext, StageStepTools } from "../functions/stage-context.ts";
import { type BusEvent, EventBus } from "./event-bus.ts";
import { type RunnerClock, systemClock } from "./runner-clock.ts";

/** One thing the runner did, for progress displays and tests. */
export type RunnerStepEvent =
  | { kind: "step-started"; id: string; attempt: number }
  | { kind: "step-completed"; id: string; attempt: number; durationMs: number }
  | { kind: "step-retrying"; id: string; attempt: number; delayMs: number; error: string }
  | { kind: "sleeping"; id: string; durationMs: number }
  | { kind: "waiting"; id: string; event: string; timeoutMs: number }
  | { kind: "event-sent"; id: string; names: string[] };

export interface InProcessRunOptions {
  /** Run id; a fresh uuid by default. */
  runId?: string;
  /** Retries per step and for the function, as Inngest's `retries` (default 6). */
  retries?: number;
  /** Aborting cancels the run: the current sleep or step is abandoned and `runInProcess` rejects with the reason. */
  signal?: AbortSignal;
  clock?: RunnerClock;
  /** Receives `step.sendEvent` payloads. */
  bus?: EventBus;
  /** Step results already known (a replay); they are returned without running the step, as Inngest memoizes. */
  memoized?: ReadonlyMap<string, unknown>;
  onStep?: (event: RunnerStepEvent) => void;
  logger?: StageContext["logger"];
}

/**
 * The first event on the bus named `name` for which `match` holds, or null once the clock has slept `timeoutMs`
 * (`step.waitForEvent`, on the runner's clock so accelerated tests do not wait in real time).
 */
function waitForEvent(
  bus: EventBus,
  clock: RunnerClock,
  options: { name: string; match: (event: BusEvent) => boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<BusEvent | null> {
  const stopTimer = new AbortController();
  const timerSignal = options.signal ? AbortSignal.any([options.signal, stopTimer.signal]) : stopTimer.signal;
  return new Promise<BusEvent | null>((resolve, reject) => {
    const unsubscribe = bus.subscribe((event) => {
      if (event.name !== options.name || !options.match(event)) return;
      unsubscribe();
      stopTimer.abort();
      resolve(event);
    });
    clock.sleep(Math.max(1_000, options.timeoutMs), timerSignal).then(
      () => {
        unsubscribe();
        resolve(null);
      },
      (error) => {
        unsubscribe();
        // Stopped because the event came: already resolved. Aborted by the run's signal: the run is canceled.
        if (!stopTimer.signal.aborted) reject(error);
      },
    );
  });
}

/** Inngest's own default backoff is server-side; this mirrors its shape: exponential, capped at 60 s. */
const backoffMs = (attempt: number) => Math.min(60_000, 1_000 * 2 ** attempt);

/** `RetryAfterError.retryAfter` is whole seconds as text, or an ISO date. */
function retryAfterMs(error: RetryAfterError, now: Date): number {
  const seconds = Number(error.retryAfter);
  if (Number.isFinite(seconds)) return seconds * 1000;
  return Math.max(0, Date.parse(error.retryAfter) - now.getTime());
}

/** Marks an error that already exhausted a step's retries, so the function is not retried on top of it. */
class StepFailedError extends Error {
  constructor(
    readonly stepId: string,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original));
    this.name = original instanceof Error ? original.name : "Error";
  }
}

const quietLogger: StageContext["logger"] = { info: () => undefined, warn: () => undefined };

/**
 * Runs a durable handler without an Inngest server, with Inngest's semantics where they matter: each step's result
 * is JSON round-tripped and memoized by id; a failing step is retried alone (`retries` times, `RetryAfterError`
 * delays honoured, `NonRetriableError` final at once); a step that exhausts its retries fails the run; an error
 * thrown outside steps re-runs the handler with the memoized steps; sleeps are real (or the injected clock's).
 * Not durable across process death: the metadata store is what lets a rerun resume a recorded task.
 */
export async function runInProcess<T>(
  handler: (context: StageContext) => Promise<T>,
  event: { name: string; data: unknown; ts?: number },
  options: InProcessRunOptions = {},
): Promise<T> {
  const retries = options.retries ?? 6;
  const clock = options.clock ?? systemClock;
  const bus = options.bus ?? new EventBus();
  const signal = options.signal;
  const journal = new Map<string, unknown>(options.memoized ?? []);
  const notify = (stepEvent: RunnerStepEvent) => options.onStep?.(stepEvent);
  let currentAttempt = 0;

  const step: StageStepTools = {
    async run<R>(id: string, body: () => Promise<R>): Promise<R> {
      if (journal.has(id)) return structuredClone(journal.get(id)) as R;
      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted();
        currentAttempt = attempt;
        notify({ kind: "step-started", id, attempt });
        const startedAt = Date.now();
        try {
          const value = await body();
          // As over the wire: Dates become strings, undefined disappears, a void result is null.
          const json = value === undefined ? null : JSON.parse(JSON.stringify(value));
          journal.set(id, json);
          notify({ kind: "step-completed", id, attempt, durationMs: Date.now() - startedAt });
          return structuredClone(json) as R;
        } catch (error) {
          signal?.throwIfAborted();
          if (error instanceof NonRetriableError || attempt >= retries) throw new StepFailedError(id, error);
          const delayMs =
            error instanceof RetryAfterError ? retryAfterMs(error, clock.now()) : backoffMs(attempt);
          notify({
            kind: "step-retrying",
            id,
            attempt,
            delayMs,
            error: error instanceof Error ? error.message : String(error),
          });
          await clock.sleep(delayMs, signal);
        }
      }
    },
    async sleep(id: string, durationMs: number): Promise<void> {
      if (journal.has(id)) return;
      notify({ kind: "sleeping", id, durationMs });
      // Inngest rounds sleeps under a second up to one second.
      await clock.sleep(Math.max(1_000, durationMs), signal);
      journal.set(id, null);
    },
    async waitForGenerationEvent(id, { event, generationId, timeoutMs }) {
      if (journal.has(id))
        return structuredClone(journal.get(id)) as { data: Record<string, unknown> } | null;
      notify({ kind: "waiting", id, event, timeoutMs });
      const received = await waitForEvent(bus, clock, {
        name: event,
        match: (candidate) =>
          (candidate.data as { generation_id?: unknown } | null)?.generation_id === generationId,
        timeoutMs,
        signal,
      });
      const value = received === null ? null : JSON.parse(JSON.stringify({ data: received.data }));
      journal.set(id, value);
      return structuredClone(value);
    },
    async sendEvent(
      id: string,
      payload: { name: string; data: unknown } | Array<{ name: string; data: unknown }>,
    ) {
      if (journal.has(id)) return structuredClone(journal.get(id));
      const events = Array.isArray(payload) ? payload : [payload];
      const ids = bus.publish(JSON.parse(JSON.stringify(events)));
      const result = { ids };
      journal.set(id, result);
      notify({ kind: "event-sent", id, names: events.map((sent) => sent.name) });
      return result;
    },
  };

  const context: StageContext = {
    event: { data: event.data, ts: event.ts ?? clock.now().getTime() },
    step,
    runId: options.runId ?? randomUUID(),
    get attempt() {
      return currentAttempt;
    },
    logger: options.logger ?? quietLogger,
  };

  for (let functionAttempt = 0; ; functionAttempt++) {
    try {
      return await handler(context);
    } catch (error) {
      signal?.throwIfAborted();
      if (error instanceof StepFailedError) throw error.original;
      if (error instanceof NonRetriableError || functionAttempt >= retries) throw error;
      await clock.sleep(backoffMs(functionAttempt), signal);
    }
  }
}
