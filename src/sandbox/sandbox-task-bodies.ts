import { randomUUID } from "node:crypto";
import { WAN_MODEL } from "../contract/wan-model.ts";
import { SandboxApiError } from "./sandbox-http.ts";
import type { SandboxTask, SandboxTaskStatus } from "./sandbox-tasks.ts";
import { BEIJING_OFFSET_MINUTES, formatDashscopeDate, parseDashscopeCompactTime } from "./sandbox-time.ts";

/** The region the sandbox claims in task lists. */
const REGION = "cn-beijing";
const DAY_MS = 24 * 60 * 60 * 1000;

/** The body of `GET /tasks/{id}` (dashscope.md 3.2-3.6). `resultUrl` signs the video link of a SUCCEEDED task. */
export function taskStatusBody(
  taskId: string,
  task: SandboxTask | undefined,
  resultUrl: (task: SandboxTask) => string,
): Record<string, unknown> {
  const request_id = randomUUID();
  if (!task) return { request_id, output: { task_id: taskId, task_status: "UNKNOWN" } };
  const output: Record<string, unknown> = {
    task_id: task.taskId,
    task_status: task.status,
    submit_time: formatDashscopeDate(task.submitTime),
  };
  // PENDING has not been scheduled yet; CANCELED (never scheduled) shows only the submit time.
  if (task.scheduledTime !== undefined) output.scheduled_time = formatDashscopeDate(task.scheduledTime);
  if (task.status === "FAILED" || task.status === "SUCCEEDED") {
    output.end_time = formatDashscopeDate(task.endTime ?? task.submitTime);
  }
  if (task.status === "FAILED") {
    output.code = task.failure?.code;
    output.message = task.failure?.message;
  }
  if (task.status !== "SUCCEEDED") return { request_id, output };
  if (task.prompt !== null) output.orig_prompt = task.prompt;
  output.video_url = resultUrl(task);
  return {
    request_id,
    output,
    usage: {
      duration: task.duration,
      input_video_duration: 0,
      output_video_duration: task.duration,
      video_count: 1,
      SR: task.resolution === "720P" ? 720 : 1080,
      audio: task.audio,
    },
  };
}

/**
 * How the list route reads what its documentation leaves open (dashscope.md 3.8). Each field is one plausible reading;
 * the defaults are the sandbox's historical guesses, and a client must work under all of them.
 */
export interface SandboxListReading {
  /** Zone `start_time`/`end_time` are read in, minutes east of UTC. Default 480 (UTC+8, as task bodies are). */
  timeFilterUtcOffsetMinutes?: number;
  /** Largest `page_size` honoured. Default 100. */
  maxPageSize?: number;
  /** What a larger `page_size` gets: 400 `InvalidParameter` (`refuse`, default) or `maxPageSize` rows (`cap`). */
  overMaxPageSize?: "cap" | "refuse";
  /** Row order. Default `newest-first`. */
  order?: "newest-first" | "oldest-first";
  /** How long after its creation (sandbox clock) a task appears in the list, in milliseconds. Default 0. */
  listingDelayMs?: number;
}

/** Every status the list accepts as a filter; `UNKNOWN` matches nothing kept (a record past retention is gone). */
const STATUSES: ReadonlySet<string> = new Set<SandboxTaskStatus | "UNKNOWN">([
  "PENDING",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "CANCELED",
  "UNKNOWN",
]);

/** `page_size` when none is given (dashscope.md 1.2). */
const DEFAULT_PAGE_SIZE = 10;

const invalidQuery = (name: string) =>
  new SandboxApiError(
    400,
    "InvalidParameter",
    `Required parameter(${name}) missing or invalid, please check the request parameters.`,
  );

function positiveInteger(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) throw invalidQuery(name);
  return value;
}

function compactTime(query: URLSearchParams, name: string, offsetMinutes: number): number | undefined {
  const text = query.get(name);
  if (text === null || text === "") return undefined;
  const value = parseDashscopeCompactTime(text, offsetMinutes);
  if (value === undefined) throw invalidQuery(name);
  return value;
}

/**
 * The body of `GET /tasks/` (dashscope.md 3.8): filters `start_time`/`end_time` (`YYYYMMDDhhmmss` in the reading's
 * zone, on the creation time, span at most 24 h, default the last 24 h, both ends inclusive to the second),
 * `model_name`, `status` (`UNKNOWN` included), `task_id`, `page_no`, `page_size` (default 10, capped or refused over
 * the reading's maximum). Rows in the reading's order; times in `data[]` are epoch milliseconds; a task is listed only
 * once the reading's listing delay has passed.
 */
export function taskListBody(
  query: URLSearchParams,
  tasks: SandboxTask[],
  now: number,
  reading: SandboxListReading = {},
): Record<string, unknown> {
  const offsetMinutes = reading.timeFilterUtcOffsetMinutes ?? BEIJING_OFFSET_MINUTES;
  const endGiven = compactTime(query, "end_time", offsetMinutes);
  const startGiven = compactTime(query, "start_time", offsetMinutes);
  const end = endGiven ?? (startGiven !== undefined ? startGiven + DAY_MS : now);
  const start = startGiven ?? end - DAY_MS;
  if (end < start || end - start > DAY_MS) {
    throw new SandboxApiError(
      400,
      "InvalidParameter",
      "The time span between start_time and end_time must be within 24 hours.",
    );
  }
  const status = query.get("status");
  if (status && !STATUSES.has(status)) throw invalidQuery("status");
  const modelName = query.get("model_name");
  const taskId = query.get("task_id");
  const pageNo = positiveInteger(query, "page_no", 1);
  const maxPageSize = reading.maxPageSize ?? 100;
  const askedPageSize = positiveInteger(query, "page_size", DEFAULT_PAGE_SIZE);
  if (askedPageSize > maxPageSize && reading.overMaxPageSize !== "cap") throw invalidQuery("page_size");
  const pageSize = Math.min(askedPageSize, maxPageSize);
  const listingDelayMs = reading.listingDelayMs ?? 0;

  const matching = tasks
    .filter(
      (task) =>
        task.submitTime >= start &&
        task.submitTime < end + 1000 &&
        now - task.submitTime >= listingDelayMs &&
        (!status || task.status === status) &&
        (!modelName || task.model === modelName) &&
        (!taskId || task.taskId === taskId),
    )
    .sort((a, b) =>
      reading.order === "oldest-first" ? a.submitTime - b.submitTime : b.submitTime - a.submitTime,
    );
  const page = matching.slice((pageNo - 1) * pageSize, pageNo * pageSize);
  return {
    request_id: randomUUID(),
    total: matching.length,
    total_page: Math.ceil(matching.length / pageSize),
    page_no: pageNo,
    page_size: pageSize,
    data: page.map((task) => ({
      task_id: task.taskId,
      status: task.status,
      model_name: task.model,
      region: REGION,
      request_id: task.requestId,
      api_key_id: "sandbox-api-key-id",
      caller_uid: "1000000000000000",
      caller_parent_id: "1000000000000000",
      gmt_create: task.submitTime,
      start_time: task.scheduledTime ?? null,
      end_time: task.endTime ?? null,
      user_api_unique_key: `apikey:v1:aigc:video-generation:video-synthesis:${WAN_MODEL}`,
    })),
  };
}
