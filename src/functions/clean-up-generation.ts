import { TERMINAL_STATUSES } from "../metadata/generation-record.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { VideoProvider } from "../providers/provider.ts";
import { grantAnnouncements, type ProviderBudgetSettings, providerBudget } from "./provider-budget.ts";
import { describeUnvalidatedRequest } from "./record-request.ts";
import { EVENT_NAMES, settledEvent, slotGrantedEvents } from "./video-generation-events.ts";

/** How a generation ended without a result. */
export type GenerationEnding =
  | { kind: "failed"; code: string; message: string }
  | { kind: "canceled"; reason: string };

export interface CleanUpResult {
  /** False when the record was already terminal (a succeeded generation is never marked failed afterwards). */
  changed: boolean;
  /** The record's status after the clean-up (null: there is no record). */
  status: string | null;
  taskId: string | null;
  /** Whether the provider task was canceled (possible only while PENDING; a RUNNING task completes and is billed). */
  providerTaskCanceled: boolean;
  correlation: Record<string, unknown> | null;
  /** Waiters the freed budget slot was handed to; the caller wakes them (`cleanUpEvents` announces them). */
  grantedTo: string[];
}

/**
 * What every unsuccessful ending needs, shared by `onFailure`, both cancellation functions, the CLI and the
 * in-process runner: cancel the provider task while it is still PENDING (it costs nothing yet), record the outcome,
 * and free the budget slot (handing it to the oldest waiter). Safe to run more than once: only the call that ends
 * the record reports `changed`, so exactly one `failed`/`canceled` event follows. `startedBy` describes the run when
 * it may have ended before writing a record (canceled while queued): a terminal record is then created for it.
 */
export async function cleanUpGeneration(input: {
  generationId: string;
  ending: GenerationEnding;
  provider: VideoProvider;
  metadataStore: MetadataStore;
  settings: ProviderBudgetSettings;
  startedBy?: { runId: string; eventData: unknown };
}): Promise<CleanUpResult> {
  const { generationId, ending, provider, metadataStore } = input;
  const record = await metadataStore.get(generationId);
  const { grantedTo } = await providerBudget(input).release(generationId);
  if (!record) {
    const created = input.startedBy ? await recordEnding(input, input.startedBy) : null;
    return {
      changed: created !== null,
      status: created,
      taskId: null,
      providerTaskCanceled: false,
      correlation: correlationOf(input.startedBy?.eventData),
      grantedTo,
    };
  }
  const correlation = record.correlation;
  if (TERMINAL_STATUSES.includes(record.status)) {
    return {
      changed: false,
      status: record.status,
      taskId: record.taskId,
      providerTaskCanceled: false,
      correlation,
      grantedTo,
    };
  }

  if (ending.kind === "canceled")
    return cancelRecordThenTask(input, record.taskId, ending.reason, correlation, grantedTo);

  let providerTaskCanceled = false;
  if (record.taskId) {
    try {
      const status = await provider.status(record.taskId);
      if (status.status === "pending") {
        await provider.cancel(record.taskId);
        providerTaskCanceled = true;
      }
    } catch {
      // Best effort: the task may have started meanwhile (cancel is PENDING-only) or the provider is unreachable;
      // the outcome is recorded either way and the deadline bounds what a stray task can cost.
    }
  }
  const changed = await metadataStore.recordFailed(generationId, {
    code: ending.code,
    message: ending.message,
  });
  return {
    changed,
    status: changed ? ending.kind : ((await metadataStore.get(generationId))?.status ?? ending.kind),
    taskId: record.taskId,
    providerTaskCanceled,
    correlation,
    grantedTo,
  };
}

/**
 * A cancellation is recorded before the provider task is canceled: a run checking its task meanwhile then finds the
 * record canceled first and ends as canceled, rather than taking the provider's CANCELED for a task that failed.
 * Whether the task is still PENDING (cancelable, not billed) is asked first, for the record's note.
 */
async function cancelRecordThenTask(
  input: { generationId: string; provider: VideoProvider; metadataStore: MetadataStore },
  taskId: string | null,
  reason: string,
  correlation: Record<string, unknown> | null,
  grantedTo: string[],
): Promise<CleanUpResult> {
  const { generationId, provider, metadataStore } = input;
  let pending = false;
  if (taskId) {
    try {
      pending = (await provider.status(taskId)).status === "pending";
    } catch {
      // Unreachable provider: try the cancel anyway below; the deadline bounds what a stray task can cost.
      pending = true;
    }
  }
  const note = taskId && !pending ? " (the provider task was already running and will be billed)" : "";
  const changed = await metadataStore.recordCanceled(generationId, { reason: `${reason}${note}` });
  let providerTaskCanceled = false;
  if (taskId && pending) {
    try {
      await provider.cancel(taskId);
      providerTaskCanceled = true;
    } catch {
      // It started meanwhile (cancel is PENDING-only): it finishes and is billed.
    }
  }
  return {
    changed,
    status: changed ? "canceled" : ((await metadataStore.get(generationId))?.status ?? "canceled"),
    taskId,
    providerTaskCanceled,
    correlation,
    grantedTo,
  };
}

/** Creates the terminal record of a run that ended before writing one; null when another record is kept instead. */
async function recordEnding(
  input: {
    generationId: string;
    ending: GenerationEnding;
    provider: VideoProvider;
    metadataStore: MetadataStore;
  },
  startedBy: { runId: string; eventData: unknown },
): Promise<"failed" | "canceled" | null> {
  const { ending } = input;
  const status = ending.kind;
  const written = await input.metadataStore.recordEarlyEnding({
    generationId: input.generationId,
    request: describeUnvalidatedRequest(startedBy.eventData),
    correlation: correlationOf(startedBy.eventData),
    runId: startedBy.runId,
    provider: input.provider.name,
    model: input.provider.model,
    ending:
      ending.kind === "failed"
        ? { status, code: ending.code, message: ending.message }
        : { status, code: "canceled", message: ending.reason },
  });
  return written ? status : null;
}

function correlationOf(eventData: unknown): Record<string, unknown> | null {
  const correlation = (eventData as { correlation?: unknown } | null | undefined)?.correlation;
  return correlation && typeof correlation === "object" && !Array.isArray(correlation)
    ? (correlation as Record<string, unknown>)
    : null;
}

/**
 * The events that announce a clean-up: the public `failed`/`canceled`, the internal `settled`, the slot hand-overs.
 * A failure is announced when the record ends failed (also when the run's own `validate` step recorded it); a
 * cancellation only by the call that ended the record, so several cancel routes firing together announce it once.
 * A generation canceled while its run was still going ends that run with an error too: no `failed` follows then.
 */
export function cleanUpEvents(
  generationId: string,
  ending: GenerationEnding,
  outcome: CleanUpResult,
): Array<{ name: string; data: Record<string, unknown> }> {
  const events: Array<{ name: string; data: Record<string, unknown> }> = [];
  const announce = ending.kind === "failed" ? outcome.status === "failed" : outcome.changed;
  if (announce) {
    events.push(
      ending.kind === "failed"
        ? {
            name: EVENT_NAMES.failed,
            data: {
              generation_id: generationId,
              error: { code: ending.code, message: ending.message },
              task_id: outcome.taskId,
              correlation: outcome.correlation,
            },
          }
        : {
            name: EVENT_NAMES.canceled,
            data: {
              generation_id: generationId,
              task_id: outcome.taskId,
              provider_task_canceled: outcome.providerTaskCanceled,
              reason: ending.reason,
              correlation: outcome.correlation,
            },
          },
      settledEvent(generationId, ending.kind),
    );
  }
  events.push(...grantAnnouncements(outcome.grantedTo));
  if (ending.kind === "canceled" && outcome.changed)
    events.push(...canceledRunWakeUps(generationId, outcome.taskId));
  return events;
}

/**
 * Wakes a run that Inngest did not cancel itself (one without a `generation_id`, canceled through its record by
 * `video-gen cancel run-<id>`) out of a slot wait or a wait for its task: its next check finds the record canceled
 * and ends the run at once, instead of at its fallback minutes later. Harmless for a run already gone.
 */
function canceledRunWakeUps(generationId: string, taskId: string | null) {
  return [
    ...slotGrantedEvents([generationId]),
    ...(taskId === null
      ? []
      : [
          {
            name: EVENT_NAMES.taskEnded,
            data: { generation_id: generationId, task_id: taskId, task_status: "CANCELED", source: "cancel" },
          },
        ]),
  ];
}
