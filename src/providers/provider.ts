import type { ProviderParameters } from "../contract/plan-generation.ts";

/**
 * A reference image as the provider receives it:
 * - `url`: an http(s) URL the provider downloads itself (the request's own, or a presigned one), an `oss://`
 *   temporary URL, or a `data:` URI;
 * - `bytes`: image bytes the provider client uploads to its temporary storage first.
 */
export type ProviderImage =
  | { kind: "url"; url: string }
  | { kind: "bytes"; bytes: Uint8Array; contentType: string; filename: string };

/** One submit: the model's parameters plus the image. */
export interface ProviderStartInput extends ProviderParameters {
  /** The seed is always set by the stage when submitting (derived when the client gave none). */
  seed: number;
  image: ProviderImage;
}

/** What a submit returns: small and JSON-serializable, so it can be a step's output. */
export interface ProviderStartResult {
  taskId: string;
  requestId?: string;
}

/** Provider times, as ISO 8601 strings in UTC. Absent when the provider did not report them. */
export interface ProviderTaskTimes {
  submittedAt?: string;
  scheduledAt?: string;
  endedAt?: string;
}

/** The provider's usage record for a finished task (billed seconds, tier, audio), normalized to numbers/booleans. */
export interface ProviderUsage {
  /** Billed seconds. */
  duration?: number;
  outputVideoDuration?: number;
  videoCount?: number;
  /** Tier as a number (720 or 1080). */
  resolutionTier?: number;
  audio?: boolean;
  /** Everything the provider sent, as sent. */
  raw: Record<string, unknown>;
}

/** One status check's answer. A failed task is data, not an exception. */
export type ProviderTaskStatus =
  | ({ status: "pending" | "running"; taskId: string; providerStatus: string } & ProviderTaskTimes)
  | ({
      status: "succeeded";
      taskId: string;
      /** Signed, expiring download URL. A secret: never log it, never put it in a step output or record. */
      videoUrl: string;
      usage: ProviderUsage | null;
    } & ProviderTaskTimes)
  | ({ status: "failed"; taskId: string; code: string; message: string } & ProviderTaskTimes)
  | ({ status: "canceled"; taskId: string } & ProviderTaskTimes)
  /** Expired (older than 24 h) or never existed in this account and region. Terminal. */
  | { status: "unknown"; taskId: string };

/** One entry of the provider's task list, used to reconcile an ambiguous submit. */
export interface ProviderTaskSummary {
  taskId: string;
  status: string;
  /** When the task was created, ISO 8601 UTC (from the list's epoch-millisecond `gmt_create`). */
  createdAt: string;
  /** The task's model, when the provider reported it. */
  model?: string;
}

/**
 * Which page of the provider's task list to fetch. No time window: the list's time filters are in an undocumented
 * zone, and without them the provider lists the last 24 h (dashscope.md 3.8).
 */
export interface ProviderTaskListQuery {
  /** 1-based page number. */
  pageNo: number;
  /** Rows asked for per page; the provider may serve fewer (its cap is undocumented). Default: the provider's (10). */
  pageSize?: number;
  /** Only tasks in this provider status (`PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELED`, `UNKNOWN`). */
  status?: string;
  /** Only this task. */
  taskId?: string;
}

/** One page of the provider's task list, rows in whatever order the provider sent them. */
export interface ProviderTaskPage {
  tasks: ProviderTaskSummary[];
  pageNo: number;
  /** Pages the whole list has, as the provider counts them; undefined when it said nothing usable. */
  totalPages?: number;
  /** Rows the whole list has, when reported. */
  total?: number;
}

/**
 * A video provider: single calls only. Polling, retries, paging and waiting belong to the durable function.
 */
export interface VideoProvider {
  /** Provider name for records and logs, e.g. `dashscope`. */
  readonly name: string;
  /** The model string sent, e.g. `wan2.6-i2v-flash`. */
  readonly model: string;
  /** Submits one task (uploading the image first when it is bytes). Must not poll. */
  start(input: ProviderStartInput, options?: { signal?: AbortSignal }): Promise<ProviderStartResult>;
  /** One status check. */
  status(taskId: string, options?: { signal?: AbortSignal }): Promise<ProviderTaskStatus>;
  /** Cancels a task; the provider only allows it while PENDING. */
  cancel(taskId: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** One page of the account's recent tasks of this model (the last 24 h). One call, no paging inside. */
  listTasks(query: ProviderTaskListQuery, options?: { signal?: AbortSignal }): Promise<ProviderTaskPage>;
}
