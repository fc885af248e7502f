import { createHash } from "node:crypto";
import { InngestTestEngine } from "@inngest/test";
import type { InngestFunction } from "inngest";

/**
 * What the suites that run the function under Inngest's own test engine (@inngest/test) share. Its known gaps
 * (reference/inngest.md §5.2) are handled here: every wait is mocked (an unmocked one never settles), and the mocks
 * are built fresh for every execution (the engine mutates them).
 */

/** The hash Inngest keys a step's memoized output by. */
export const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Fresh mocks for each execution: waits really wait a little (the sandbox renders in real time); sends are captured. */
export function mockedSteps(extra: Array<{ id: string; handler: () => unknown }> = []) {
  const sleeps = ["wait", "slot-wait", "duplicate-wait"].flatMap((prefix) =>
    Array.from({ length: 120 }, (_, index) => ({
      id: `${prefix}-${index}`,
      handler: () => pause(60).then(() => null),
    })),
  );
  return [...extra, ...sleeps, { id: "notify", handler: () => ({ ids: ["completed-event"] }) }];
}

/** A test engine running `fn` on one `video/generation.requested` event with `data`. */
export function engineFor(fn: InngestFunction.Any, data: Record<string, unknown>) {
  return new InngestTestEngine({
    function: fn,
    events: [{ name: "video/generation.requested", data }],
  });
}
