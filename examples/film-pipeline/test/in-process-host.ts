import { InngestTestEngine } from "@inngest/test";
import type { InngestFunction } from "inngest";
import {
  type BusEvent,
  EVENT_NAMES,
  EventBus,
  type GenerationOutcome,
  generateInProcess,
  type VideoGenerateDependencies,
} from "video-generate-stage";

export interface InProcessHost {
  /** Every event of the app: the functions' sends and the stage's `completed` / `failed` / `canceled`. */
  bus: EventBus;
  /** Runs one of the app's functions for `event` to its end and returns its result (throws its error). */
  run(fn: InngestFunction.Any, event: { name: string; data: unknown }): Promise<unknown>;
  /** Waits for the generations still running, so the stage can be closed after them. */
  settle(): Promise<void>;
}

const UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `"2h"`, `"5m"`, `"30s"` or milliseconds, as the step tools take them. */
function durationMs(timeout: unknown): number {
  if (typeof timeout === "number") return timeout;
  const match = /^(\d+)([smhd])$/.exec(String(timeout));
  if (!match) throw new Error(`in-process host: unsupported timeout ${JSON.stringify(timeout)}`);
  return Number(match[1]) * (UNITS_MS[match[2] ?? "s"] ?? 1_000);
}

/**
 * The `if` expressions the app uses, as a predicate: `async.data.<path> == '<text>'` clauses joined by `&&`. Inngest
 * evaluates full CEL; anything beyond this form is refused here rather than guessed.
 */
function matcher(expression: string | undefined): (event: BusEvent) => boolean {
  if (!expression) return () => true;
  const clauses = expression.split("&&").map((clause) => {
    const parsed = /^\s*async\.data\.([\w.]+)\s*==\s*'([^']*)'\s*$/.exec(clause);
    if (!parsed)
      throw new Error(`in-process host: unsupported waitForEvent expression ${JSON.stringify(clause)}`);
    return { path: (parsed[1] ?? "").split("."), value: parsed[2] };
  });
  return (event) =>
    clauses.every(({ path, value }) => {
      let current: unknown = event.data;
      for (const key of path) current = (current as Record<string, unknown> | null | undefined)?.[key];
      return current === value;
    });
}

/** What travels over the wire: JSON, so `undefined` fields vanish as they would on Inngest. */
const overTheWire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * Runs the app's own functions in this process with the Inngest SDK's execution engine (`@inngest/test`), and the
 * stage with the package's in-process runner (`generateInProcess`) on a shared `EventBus`, the way they meet on an
 * Inngest server: `step.sendEvent` publishes on the bus (a `video/generation.requested` starts a generation, a
 * `cancel-requested` stops the matching one, as `cancelOn` does), `step.waitForEvent` waits on it, and
 * `step.invoke` of `video-generate` runs a generation and returns its response. Each of these three is memoized
 * by step id, as Inngest memoizes steps across the handler's replays. Not modelled: Inngest's queues, retries of the
 * app's own steps, and the server's flow control; the real server runs these same functions elsewhere.
 */
export function createInProcessHost(
  dependencies: VideoGenerateDependencies,
  options: { maxWaitMs?: number } = {},
): InProcessHost {
  const bus = new EventBus();
  const running = new Map<string, AbortController>();
  const generations = new Set<Promise<GenerationOutcome>>();

  const generate = (request: unknown): Promise<GenerationOutcome> => {
    const generationId = (request as { generation_id?: unknown }).generation_id;
    const controller = new AbortController();
    if (typeof generationId === "string") running.set(generationId, controller);
    const generation = generateInProcess(request, dependencies, { bus, signal: controller.signal }).finally(
      () => {
        if (running.get(String(generationId)) === controller) running.delete(String(generationId));
        generations.delete(generation);
      },
    );
    generations.add(generation);
    return generation;
  };

  bus.subscribe((event) => {
    if (event.name === EVENT_NAMES.requested) void generate(event.data);
    if (event.name === EVENT_NAMES.cancelRequested) {
      const { generation_id: generationId, reason } = event.data as {
        generation_id: string;
        reason?: string;
      };
      running.get(generationId)?.abort(new Error(reason ?? "cancel requested"));
    }
  });

  async function invokeStage(options: { function: unknown; data?: unknown }): Promise<unknown> {
    const target = options.function as { id?: () => string };
    const functionId = typeof target.id === "function" ? target.id() : undefined;
    if (functionId !== "video-generate") {
      throw new Error(`in-process host: only video-generate can be invoked, not ${String(functionId)}`);
    }
    const outcome = await generate(overTheWire(options.data));
    if (outcome.status === "succeeded") return overTheWire(outcome.response);
    // As on Inngest, the invoking run sees the child's failure as an error carrying the stage's code.
    throw new Error(
      outcome.status === "failed"
        ? `${outcome.error.code}: ${outcome.error.message}`
        : `canceled: generation ${outcome.generationId} was canceled`,
    );
  }

  async function run(fn: InngestFunction.Any, event: { name: string; data: unknown }): Promise<unknown> {
    const memo = new Map<string, Promise<unknown>>();
    const once = (id: string, body: () => Promise<unknown>) => {
      if (!memo.has(id)) memo.set(id, body());
      return memo.get(id);
    };
    const step = {
      sendEvent: (id: string, payload: unknown) =>
        once(id, async () => {
          const events = (Array.isArray(payload) ? payload : [payload]) as Array<
            BusEvent & { validate?: () => Promise<void> }
          >;
          // As the SDK does before sending: an event made with create() is checked against its schema.
          for (const created of events) await created.validate?.();
          return { ids: bus.publish(events.map(({ name, data }) => overTheWire({ name, data }))) };
        }),
      waitForEvent: (id: string, wait: { event: string | { name: string }; timeout: unknown; if?: string }) =>
        once(id, () => {
          const requested = durationMs(wait.timeout);
          return bus.waitFor(typeof wait.event === "string" ? wait.event : wait.event.name, {
            timeoutMs: Math.min(requested, options.maxWaitMs ?? requested),
            match: matcher(wait.if),
          });
        }),
      invoke: (id: string, invocation: { function: unknown; data?: unknown }) =>
        once(id, () => invokeStage(invocation)),
    };
    const engine = new InngestTestEngine({
      function: fn,
      events: [overTheWire({ ...event, ts: Date.now() })],
      transformCtx: (context) => ({ ...context, step: { ...context.step, ...step } }) as typeof context,
    });
    const { result, error } = await engine.execute();
    if (error) {
      const { name, message } = error as { name?: string; message?: string };
      throw new Error(`${fn.id()} failed: ${name ?? "Error"}: ${message ?? String(error)}`);
    }
    return result;
  }

  return {
    bus,
    run,
    async settle() {
      while (generations.size > 0) await Promise.allSettled([...generations]);
    },
  };
}
