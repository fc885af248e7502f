import { z } from "zod";

/** Routes a fault can target. `upload` is the OSS-style form target, `download` the signed result URL. */
export const FAULT_ROUTES = ["submit", "status", "cancel", "list", "policy", "upload", "download"] as const;
export type FaultRoute = (typeof FAULT_ROUTES)[number];

/**
 * What a fault does to the next matching request:
 * - `throttle`: 429 `Throttling.RateQuota`;
 * - `server-error`: 500 `InternalError`;
 * - `unavailable`: 503 `ModelUnavailable`;
 * - `slow`: waits `delayMs`, then answers normally;
 * - `reset`: destroys the socket without answering;
 * - `reset-after-create` (submit only): creates the task, then destroys the socket, so the client cannot know
 *   that the task exists;
 * - `reset-midway` (download only): sends the headers and part of the body, then destroys the socket.
 */
export const FAULT_KINDS = [
  "throttle",
  "server-error",
  "unavailable",
  "slow",
  "reset",
  "reset-after-create",
  "reset-midway",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One injected fault. */
export const faultSpecSchema = z
  .strictObject({
    route: z.enum(FAULT_ROUTES),
    kind: z.enum(FAULT_KINDS),
    /** How many matching requests it affects. Default 1. */
    times: z.int().min(1).optional(),
    /** Delay for `slow`, in milliseconds. Default 2000. */
    delayMs: z.int().min(0).max(600_000).optional(),
  })
  .refine((fault) => fault.kind !== "reset-after-create" || fault.route === "submit", {
    message: "reset-after-create applies to the submit route only",
  })
  .refine((fault) => fault.kind !== "reset-midway" || fault.route === "download", {
    message: "reset-midway applies to the download route only",
  });
export type FaultSpec = z.infer<typeof faultSpecSchema>;

/** Makes the next tasks end FAILED with this provider code and message (e.g. `DataInspectionFailed`). */
export const taskFailureSpecSchema = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  /** How many of the next created tasks fail. Default 1. */
  count: z.int().min(1).optional(),
});
export type TaskFailureSpec = z.infer<typeof taskFailureSpecSchema>;

/** The body of `POST /_sandbox/faults`: the same controls over HTTP, for processes the test did not start in-process. */
export const faultCommandSchema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("inject"), fault: faultSpecSchema }),
  z.strictObject({ action: z.literal("failNextTasks"), failure: taskFailureSpecSchema }),
  z.strictObject({ action: z.literal("expireResults") }),
  z.strictObject({ action: z.literal("clear") }),
]);
export type FaultCommand = z.infer<typeof faultCommandSchema>;

/** Fault injection, per test. Faults on one route are used in the order they were injected. */
export interface FaultController {
  /** Queues a fault for the next `times` requests of a route. Throws on an invalid spec. */
  inject(fault: FaultSpec): void;
  /** The next `count` created tasks end FAILED with this code and message instead of rendering. */
  failNextTasks(failure: TaskFailureSpec): void;
  /** Every result URL issued so far now answers 403, as after its 24 h lifetime. */
  expireResults(): void;
  /** Removes every pending fault and task failure. Expired result URLs stay expired. */
  clear(): void;
  /** Applies a command of `POST /_sandbox/faults`. */
  apply(command: FaultCommand): void;
}

/** A fault taken for one request. */
export interface ActiveFault {
  kind: FaultKind;
  delayMs: number;
}

/** The controller plus the server-side hooks that consume the queued faults. */
export interface FaultState {
  controller: FaultController;
  /** Takes the next fault for a route, if any. */
  take(route: FaultRoute): ActiveFault | undefined;
  /** Takes the next queued task failure, if any. */
  takeTaskFailure(): { code: string; message: string } | undefined;
}

const DEFAULT_SLOW_MS = 2000;

export function createFaultState(options: { onExpireResults: () => void }): FaultState {
  let faults: Array<{ route: FaultRoute; kind: FaultKind; remaining: number; delayMs: number }> = [];
  let failures: Array<{ code: string; message: string; remaining: number }> = [];

  const controller: FaultController = {
    inject(fault) {
      const parsed = faultSpecSchema.parse(fault);
      faults.push({
        route: parsed.route,
        kind: parsed.kind,
        remaining: parsed.times ?? 1,
        delayMs: parsed.delayMs ?? DEFAULT_SLOW_MS,
      });
    },
    failNextTasks(failure) {
      const parsed = taskFailureSpecSchema.parse(failure);
      failures.push({ code: parsed.code, message: parsed.message, remaining: parsed.count ?? 1 });
    },
    expireResults() {
      options.onExpireResults();
    },
    clear() {
      faults = [];
      failures = [];
    },
    apply(command) {
      if (command.action === "inject") controller.inject(command.fault);
      else if (command.action === "failNextTasks") controller.failNextTasks(command.failure);
      else if (command.action === "expireResults") controller.expireResults();
      else controller.clear();
    },
  };

  return {
    controller,
    take(route) {
      const fault = faults.find((candidate) => candidate.route === route);
      if (!fault) return undefined;
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults = faults.filter((candidate) => candidate !== fault);
      return { kind: fault.kind, delayMs: fault.delayMs };
    },
    takeTaskFailure() {
      const failure = failures[0];
      if (!failure) return undefined;
      failure.remaining -= 1;
      if (failure.remaining <= 0) failures.shift();
      return { code: failure.code, message: failure.message };
    },
  };
}
