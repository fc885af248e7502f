/** An event as a step sends it. */
export interface StageEvent {
  /** Inngest keeps one event per id (for 24 h): a repeat with the same id is dropped. */
  id?: string;
  name: string;
  data: Record<string, unknown>;
}

/** The subset of Inngest's step tools the handler uses; the in-process runner implements the same. */
export interface StageStepTools {
  /** Runs `body` once per run (memoized by id); its result must be JSON. */
  run<T>(id: string, body: () => Promise<T>): Promise<T>;
  /** Durable sleep. */
  sleep(id: string, durationMs: number): Promise<void>;
  /**
   * Durable wait for the first event named `event` whose `data.generation_id` equals `generationId`, sent after the
   * wait began; null after `timeoutMs`. (Inngest: `step.waitForEvent` with an `if` on `async.data.generation_id`.)
   */
  waitForGenerationEvent(
    id: string,
    options: { event: string; generationId: string; timeoutMs: number },
  ): Promise<{ data: Record<string, unknown> } | null>;
  /** Durable event send (not repeated on replay). */
  sendEvent(id: string, payload: StageEvent | StageEvent[]): Promise<unknown>;
}

/** What the handler gets from Inngest (or from the in-process runner). */
export interface StageContext {
  event: { data: unknown; ts?: number };
  step: StageStepTools;
  /** The run's id; a generation without a client id is called `run-<runId>`. */
  runId: string;
  /** Zero-based attempt of the step being executed (for throttling backoff). */
  attempt: number;
  logger: {
    info(message: string, fields?: Record<string, unknown>): void;
    warn(message: string, fields?: Record<string, unknown>): void;
  };
}
