import { randomUUID } from "node:crypto";

/** An event as Inngest carries it. */
export interface BusEvent {
  name: string;
  data: unknown;
  id?: string;
  ts?: number;
}

/**
 * The in-process stand-in for Inngest's event API: what `step.sendEvent` publishes, subscribers (the CLI, tests,
 * `waitForEvent`) receive synchronously in order.
 */
export class EventBus {
  readonly #subscribers = new Set<(event: BusEvent) => void>();

  publish(payload: BusEvent | BusEvent[]): string[] {
    const events = Array.isArray(payload) ? payload : [payload];
    return events.map((event) => {
      const delivered = { ...event, id: event.id ?? randomUUID(), ts: event.ts ?? Date.now() };
      for (const subscriber of this.#subscribers) subscriber(delivered);
      return delivered.id;
    });
  }

  subscribe(subscriber: (event: BusEvent) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** The first event with this name for which `match` holds, or null after `timeoutMs` (like `step.waitForEvent`). */
  waitFor(
    name: string,
    options: { timeoutMs: number; match?: (event: BusEvent) => boolean; signal?: AbortSignal },
  ) {
    return new Promise<BusEvent | null>((resolve, reject) => {
      const done = (value: BusEvent | null) => {
        clearTimeout(timer);
        unsubscribe();
        options.signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const onAbort = () => {
        clearTimeout(timer);
        unsubscribe();
        reject(options.signal?.reason);
      };
      const unsubscribe = this.subscribe((event) => {
        if (event.name === name && (options.match?.(event) ?? true)) done(event);
      });
      const timer = setTimeout(() => done(null), options.timeoutMs);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
