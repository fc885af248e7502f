import { type Dispatcher, type FormData, request } from "undici";
import type { z } from "zod";
import { WAN_MODEL } from "../../contract/wan-model.ts";
import { ProviderError } from "../../errors/provider-error.ts";
import type {
  ProviderStartInput,
  ProviderStartResult,
  ProviderTaskListQuery,
  ProviderTaskPage,
  ProviderTaskStatus,
  ProviderTaskSummary,
  ProviderTaskTimes,
  VideoProvider,
} from "../provider.ts";
import {
  dashscopeCancelResponseSchema,
  dashscopeSubmitResponseSchema,
  dashscopeTaskListResponseSchema,
  dashscopeTaskResponseSchema,
} from "./dashscope-api.ts";
import {
  type DashscopeKeyContext,
  type DashscopeOperation,
  dashscopeErrorBodySchema,
  fromDashscopeNetworkError,
  parseDashscopeErrorBody,
  sanitizeDashscopeText,
  toDashscopeError,
} from "./dashscope-error.ts";
import { uploadDashscopeFile } from "./dashscope-upload.ts";

export interface DashscopeVideoProviderOptions {
  /** The API key, or a function that finds it; called on every request, so a missing key fails the call, not the import. */
  apiKey: string | (() => Promise<string>);
  /** API base URL without a trailing slash, e.g. `https://dashscope.aliyuncs.com/api/v1` (see `resolveDashscopeBaseUrl`). */
  baseUrl: string;
  /** undici dispatcher for every request (connection pooling, proxies; tests pass a `MockAgent`). Default: undici's global one. */
  dispatcher?: Dispatcher;
  timeouts?: {
    /** Time allowed for the submit's response headers, and between body chunks, in ms. Default 120000 (data URIs are slow). */
    submitMs?: number;
    /** The same for status, cancel, list and upload calls, in ms. Default 30000. */
    otherMs?: number;
  };
  /** Offset of the provider's zone-less times from UTC, in minutes. Default 480 (Beijing and Singapore are UTC+8). */
  providerUtcOffsetMinutes?: number;
  /**
   * Where the key and the base URL came from, named in the `ConfigurationError` a rejected key (401 `InvalidApiKey`,
   * also what a key of another region gets) becomes. The client reads no environment: the composition root says it.
   * Default: `DASHSCOPE_API_KEY (or dashscope_api_key in ~/.alibabacloud/credentials)` and `DASHSCOPE_HTTP_BASE_URL`.
   */
  settingNames?: { apiKey?: string; baseUrl?: string };
}

/** The DashScope client for `wan2.6-i2v-flash`: single calls, no polling and no retries inside. */
export interface DashscopeVideoProvider extends VideoProvider {
  readonly name: "dashscope";
  /** The base URL in use (not a secret; for logs and records). */
  readonly baseUrl: string;
}

/** One HTTP call to DashScope or its upload host. */
export interface DashscopeCall<T> {
  operation: DashscopeOperation;
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string | FormData;
  /** Schema of a 2xx JSON body; without one the body is read and ignored. */
  schema?: z.ZodType<T>;
  /** Values that must never appear in an error message. */
  secrets: ReadonlyArray<string | undefined>;
  signal?: AbortSignal | undefined;
}

/** The single place that sends a request, reads its answer and turns every failure into a `ProviderError`. */
export type DashscopeSend = <T = undefined>(call: DashscopeCall<T>) => Promise<T>;

const DEFAULT_SUBMIT_TIMEOUT_MS = 120_000;
const DEFAULT_OTHER_TIMEOUT_MS = 30_000;
const DEFAULT_PROVIDER_UTC_OFFSET_MINUTES = 480;
const DEFAULT_KEY_SETTING = "DASHSCOPE_API_KEY (or dashscope_api_key in ~/.alibabacloud/credentials)";
const DEFAULT_BASE_URL_SETTING = "DASHSCOPE_HTTP_BASE_URL";

/**
 * Creates the DashScope client for `wan2.6-i2v-flash` (dashscope.md sections 0-4, 6). Every call is one request
 * (two more when image bytes are uploaded first); failures are `ProviderError`s whose `kind` says how to react.
 */
export function createDashscopeVideoProvider(options: DashscopeVideoProviderOptions): DashscopeVideoProvider {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const offsetMinutes = options.providerUtcOffsetMinutes ?? DEFAULT_PROVIDER_UTC_OFFSET_MINUTES;
  const send = createDashscopeSend({
    dispatcher: options.dispatcher,
    submitMs: options.timeouts?.submitMs ?? DEFAULT_SUBMIT_TIMEOUT_MS,
    otherMs: options.timeouts?.otherMs ?? DEFAULT_OTHER_TIMEOUT_MS,
    keyContext: {
      baseUrl,
      keySetting: options.settingNames?.apiKey ?? DEFAULT_KEY_SETTING,
      baseUrlSetting: options.settingNames?.baseUrl ?? DEFAULT_BASE_URL_SETTING,
    },
  });
  const resolveApiKey = async () =>
    typeof options.apiKey === "function" ? options.apiKey() : options.apiKey;

  return {
    name: "dashscope",
    model: WAN_MODEL,
    baseUrl,

    async start(
      input: ProviderStartInput,
      callOptions?: { signal?: AbortSignal },
    ): Promise<ProviderStartResult> {
      const apiKey = await resolveApiKey();
      const signal = callOptions?.signal;
      // A URL (https, presigned, data:) goes as it is; bytes go by DashScope's temporary upload. Which route an
      // image takes is the stage's choice (VIDEO_GEN_IMAGE_DELIVERY), not the client's.
      const imageUrl =
        input.image.kind === "url"
          ? input.image.url
          : await uploadDashscopeFile({ send, baseUrl, apiKey, model: WAN_MODEL, file: input.image, signal });

      const body = {
        model: WAN_MODEL,
        input: {
          img_url: imageUrl,
          prompt: input.prompt,
          ...(input.negativePrompt === undefined ? {} : { negative_prompt: input.negativePrompt }),
          ...(input.audioUrl === undefined ? {} : { audio_url: input.audioUrl }),
        },
        // resolution, duration, seed and audio are always explicit: the API defaults (1080P, audio) cost the most.
        parameters: {
          resolution: input.resolution,
          duration: input.duration,
          seed: input.seed,
          audio: input.audio,
          ...(input.promptExtend === undefined ? {} : { prompt_extend: input.promptExtend }),
          // The model applies shot_type only with prompt_extend true (dashscope.md 2.2): never send it otherwise.
          ...(input.shotType === undefined || input.promptExtend !== true
            ? {}
            : { shot_type: input.shotType }),
          ...(input.watermark === undefined ? {} : { watermark: input.watermark }),
        },
      };
      const headers: Record<string, string> = {
        Authorization: `Bearer ${apiKey}`,
        "Content-Type": "application/json",
        "X-DashScope-Async": "enable",
      };
      // Only for oss:// inputs, as the SDK does; DashScope cannot resolve them without it.
      if (imageUrl.startsWith("oss://") || input.audioUrl?.startsWith("oss://")) {
        headers["X-DashScope-OssResourceResolve"] = "enable";
      }

      const response = await send({
        operation: "submit",
        method: "POST",
        url: `${baseUrl}/services/aigc/video-generation/video-synthesis`,
        headers,
        body: JSON.stringify(body),
        schema: dashscopeSubmitResponseSchema,
        secrets: [apiKey],
        signal,
      });
      return {
        taskId: response.output.task_id,
        ...(response.request_id ? { requestId: response.request_id } : {}),
      };
    },

    async status(taskId: string, callOptions?: { signal?: AbortSignal }): Promise<ProviderTaskStatus> {
      const apiKey = await resolveApiKey();
      const response = await send({
        operation: "status",
        method: "GET",
        url: `${baseUrl}/tasks/${encodeURIComponent(taskId)}`,
        headers: { Authorization: `Bearer ${apiKey}` },
        schema: dashscopeTaskResponseSchema,
        secrets: [apiKey],
        signal: callOptions?.signal,
      });
      const output = response.output;
      const id = output.task_id ?? taskId;
      const times: ProviderTaskTimes = {};
      const submittedAt = toUtcIso(output.submit_time, offsetMinutes);
      const scheduledAt = toUtcIso(output.scheduled_time, offsetMinutes);
      const endedAt = toUtcIso(output.end_time, offsetMinutes);
      if (submittedAt) times.submittedAt = submittedAt;
      if (scheduledAt) times.scheduledAt = scheduledAt;
      if (endedAt) times.endedAt = endedAt;

      switch (output.task_status) {
        case "PENDING":
          return { status: "pending", taskId: id, providerStatus: output.task_status, ...times };
        case "RUNNING":
          return { status: "running", taskId: id, providerStatus: output.task_status, ...times };
        case "SUCCEEDED":
          if (!output.video_url) {
            return {
              status: "failed",
              taskId: id,
              code: "missing_video_url",
              message: "DashScope reported the task SUCCEEDED but sent no video_url",
              ...times,
            };
          }
          return {
            status: "succeeded",
            taskId: id,
            videoUrl: output.video_url,
            usage: response.usage ?? null,
            ...times,
          };
        case "FAILED":
          return {
            status: "failed",
            taskId: id,
            code: output.code ?? "UnknownFailure",
            message: output.message
              ? sanitizeDashscopeText(output.message, [apiKey])
              : "DashScope reported the task FAILED and gave no reason",
            ...times,
          };
        case "CANCELED":
          return { status: "canceled", taskId: id, ...times };
        case "UNKNOWN":
          return { status: "unknown", taskId: id };
        default:
          // SUSPENDED and statuses the docs do not list are not terminal; the function's deadline bounds the wait.
          return { status: "pending", taskId: id, providerStatus: output.task_status, ...times };
      }
    },

    async cancel(taskId: string, callOptions?: { signal?: AbortSignal }): Promise<void> {
      const apiKey = await resolveApiKey();
      // No body and no Content-Type, as the SDK sends it.
      await send({
        operation: "cancel",
        method: "POST",
        url: `${baseUrl}/tasks/${encodeURIComponent(taskId)}/cancel`,
        headers: { Authorization: `Bearer ${apiKey}` },
        schema: dashscopeCancelResponseSchema,
        secrets: [apiKey],
        signal: callOptions?.signal,
      });
    },

    async listTasks(
      query: ProviderTaskListQuery,
      callOptions?: { signal?: AbortSignal },
    ): Promise<ProviderTaskPage> {
      const apiKey = await resolveApiKey();
      // No start_time/end_time: their zone is undocumented, and without them the list covers the last 24 h.
      const parameters = new URLSearchParams({ model_name: WAN_MODEL, page_no: String(query.pageNo) });
      if (query.pageSize !== undefined) parameters.set("page_size", String(query.pageSize));
      if (query.status !== undefined) parameters.set("status", query.status);
      if (query.taskId !== undefined) parameters.set("task_id", query.taskId);
      const response = await send({
        operation: "list",
        method: "GET",
        url: `${baseUrl}/tasks/?${parameters}`,
        headers: { Authorization: `Bearer ${apiKey}` },
        schema: dashscopeTaskListResponseSchema,
        secrets: [apiKey],
        signal: callOptions?.signal,
      });
      const tasks: ProviderTaskSummary[] = [];
      for (const task of response.data ?? []) {
        // Only gmt_create says when a task was created (start_time is when it was scheduled, possibly much later);
        // a row without it cannot be matched to a submit, and failing beats silently dropping it.
        if (task.gmt_create === undefined || task.gmt_create === null) {
          throw new ProviderError(`DashScope list failed: task ${task.task_id} has no gmt_create`, {
            kind: "invalid_response",
            code: "invalid_response",
            operation: "list",
          });
        }
        tasks.push({
          taskId: task.task_id,
          status: task.status ?? "UNKNOWN",
          createdAt: new Date(task.gmt_create).toISOString(),
          ...(task.model_name ? { model: task.model_name } : {}),
        });
      }
      const page: ProviderTaskPage = { tasks, pageNo: response.page_no ?? query.pageNo };
      const totalPages =
        response.total_page ??
        (response.total != null && response.page_size
          ? Math.ceil(response.total / response.page_size)
          : null);
      if (totalPages != null && totalPages >= 0) page.totalPages = totalPages;
      if (response.total != null && response.total >= 0) page.total = response.total;
      return page;
    },
  };
}

/** Builds the single HTTP choke point over undici's `request`. */
function createDashscopeSend(settings: {
  dispatcher: Dispatcher | undefined;
  submitMs: number;
  otherMs: number;
  keyContext: DashscopeKeyContext;
}): DashscopeSend {
  return async <T>(call: DashscopeCall<T>): Promise<T> => {
    const { operation, secrets, signal } = call;
    const timeoutMs = operation === "submit" ? settings.submitMs : settings.otherMs;
    let statusCode: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      const response = await request(call.url, {
        method: call.method,
        headers: call.headers,
        body: call.body ?? null,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(settings.dispatcher ? { dispatcher: settings.dispatcher } : {}),
      });
      statusCode = response.statusCode;
      responseHeaders = response.headers;
      text = await response.body.text();
    } catch (error) {
      // The caller gave up: nothing to classify, and never a reason to retry.
      if (signal?.aborted) throw error;
      throw fromDashscopeNetworkError(operation, error, secrets) ?? error;
    }

    const headerRequestId = responseHeaders["x-request-id"];
    const withHeaderRequestId = (body: ReturnType<typeof parseDashscopeErrorBody>) =>
      body.requestId || typeof headerRequestId !== "string" ? body : { ...body, requestId: headerRequestId };

    if (statusCode < 200 || statusCode >= 300) {
      throw toDashscopeError({
        operation,
        httpStatus: statusCode,
        body: withHeaderRequestId(parseDashscopeErrorBody(text)),
        retryAfterHeader: responseHeaders["retry-after"],
        secrets,
        keyContext: settings.keyContext,
      });
    }
    if (!call.schema) return undefined as T;

    let json: unknown;
    try {
      json = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      // The SyntaxError quotes the body, which may hold a signed URL: it is not kept as the cause.
      throw invalidBody(operation, statusCode, "the body is not JSON", undefined);
    }
    // A defensive client treats a top-level `code` in a 2xx as an error (dashscope.md section 4).
    const errorBody = dashscopeErrorBodySchema.safeParse(json);
    if (errorBody.success && errorBody.data.code) {
      throw toDashscopeError({
        operation,
        httpStatus: statusCode,
        body: withHeaderRequestId(parseDashscopeErrorBody(text)),
        retryAfterHeader: responseHeaders["retry-after"],
        secrets,
        keyContext: settings.keyContext,
      });
    }
    const parsed = call.schema.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join(".") || "body").join(", ");
      throw invalidBody(operation, statusCode, `unexpected shape at ${fields}`, parsed.error);
    }
    return parsed.data;
  };
}

/**
 * A 2xx whose body cannot be read. After a submit the task may exist (the server accepted the body), so it is
 * ambiguous rather than invalid.
 */
function invalidBody(
  operation: DashscopeOperation,
  httpStatus: number,
  reason: string,
  cause: unknown,
): ProviderError {
  const ambiguous = operation === "submit";
  return new ProviderError(
    `DashScope ${operation} failed: ${httpStatus} with an unreadable response (${reason})${ambiguous ? "; the task may have been created: reconcile with the task list before resubmitting" : ""}`,
    {
      kind: ambiguous ? "ambiguous_submit" : "invalid_response",
      code: "invalid_response",
      httpStatus,
      operation,
      cause,
    },
  );
}

const PROVIDER_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3})\d*)?$/;

/** `2026-01-22 23:24:46.527` in the provider's zone → ISO 8601 UTC; undefined when absent or unreadable. */
export function toUtcIso(time: string | null | undefined, offsetMinutes: number): string | undefined {
  const match = time ? PROVIDER_TIME_PATTERN.exec(time.trim()) : null;
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const milliseconds = match[7] ? Number(match[7].padEnd(3, "0")) : 0;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, milliseconds) - offsetMinutes * 60_000;
  return new Date(utc).toISOString();
}
