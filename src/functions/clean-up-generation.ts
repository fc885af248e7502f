import { TERMINAL_STATUSES } from "../metadata/generation-record.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { VideoProvider } from "../providers/provider.ts";
import { describeUnvalidatedRequest } from "./record-request.ts";
import type { StageSettings } from "./video-generate-dependencies.ts";
import { EVENT_NAMES, settledEvent, slotGrantedEvents } from "./video-generation-events.ts";
import { slotHandOver } from "./wait-schedule.ts";

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
  /** Waiters the freed budget slot was handed to; the caller wakes them (`slotGrantedEvents`). */
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
  settings: Pick<StageSettings, "budget" | "queueTimeoutMs" | "maxSlotChecks">;
  startedBy?: { runId: string; eventData: unknown };
}): Promise<CleanUpResult> {
  const { generationId, ending, provider, metadataStore } = input;
  const record = await metadataStore.get(generationId);
  const { grantedTo } = await metadataStore.releaseSlot(generationId, slotHandOver(input.settings));
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
  if (ending.kind === "failed") {
    await metadataStore.recordFailed(generationId, { code: ending.code, message: ending.message });
  } else {
    const note =
      record.taskId && !providerTaskCanceled
        ? " (the provider task was already running and will be billed)"
        : "";
    await metadataStore.recordCanceled(generationId, { reason: `${ending.reason}${note}` });
  }
  return {
    changed: true,
    status: ending.kind,
    taskId: record.taskId,
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
  events.push(...slotGrantedEvents(outcome.grantedTo));
  return events;
}
