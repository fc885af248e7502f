import { z } from "zod";
import type { ProviderUsage } from "../provider.ts";

/*
 * Minimal response schemas for the DashScope routes this client calls (reference: dashscope.md sections 3 and 6).
 * They hold only what the client reads, so an API that grows new fields keeps working: unknown keys are allowed,
 * times are optional, and numbers may arrive as floats (`10.0`) or strings (`"720"`).
 */

/** A number sent as a number or a numeric string; anything else fails. */
const looseNumber = z.preprocess(
  (value) => (typeof value === "string" && value.trim() !== "" ? Number(value) : value),
  z.number().finite(),
);

/** A boolean sent as a boolean or as `"true"` / `"false"`. */
const looseBoolean = z.preprocess(
  (value) => (value === "true" ? true : value === "false" ? false : value),
  z.boolean(),
);

/** A provider time such as `2026-01-22 23:24:46.527` (no zone); converted to UTC by the client. */
const providerTime = z.string().nullish();

/**
 * `usage` of a SUCCEEDED task, normalized. Each field is read on its own, and a field of an unexpected type is
 * dropped rather than failing the whole response: the video matters more than the bookkeeping, and `raw` keeps
 * everything the provider sent.
 */
export const dashscopeUsageSchema = z.record(z.string(), z.unknown()).transform((raw): ProviderUsage => {
  const usage: ProviderUsage = { raw };
  const duration = looseNumber.safeParse(raw.duration);
  if (duration.success) usage.duration = duration.data;
  const outputVideoDuration = looseNumber.safeParse(raw.output_video_duration);
  if (outputVideoDuration.success) usage.outputVideoDuration = outputVideoDuration.data;
  const videoCount = looseNumber.safeParse(raw.video_count);
  if (videoCount.success) usage.videoCount = videoCount.data;
  const resolutionTier = looseNumber.safeParse(raw.SR);
  if (resolutionTier.success) usage.resolutionTier = resolutionTier.data;
  const audio = looseBoolean.safeParse(raw.audio);
  if (audio.success) usage.audio = audio.data;
  return usage;
});

/** `POST /services/aigc/video-generation/video-synthesis` (HTTP 200). */
export const dashscopeSubmitResponseSchema = z.object({
  request_id: z.string().nullish(),
  output: z.object({
    task_id: z.string().min(1),
    task_status: z.string().nullish(),
  }),
});

/** `GET /tasks/{task_id}` (HTTP 200 for every status, FAILED and UNKNOWN included). */
export const dashscopeTaskResponseSchema = z.object({
  request_id: z.string().nullish(),
  output: z.object({
    task_id: z.string().nullish(),
    /** PENDING, RUNNING, SUSPENDED, SUCCEEDED, FAILED, CANCELED, UNKNOWN; kept open because the SDK knows more than the docs. */
    task_status: z.string().min(1),
    submit_time: providerTime,
    scheduled_time: providerTime,
    end_time: providerTime,
    /** Signed OSS URL, valid 24 h; present only on SUCCEEDED. */
    video_url: z.string().nullish(),
    /** Failure code and message of a FAILED task. */
    code: z.string().nullish(),
    message: z.string().nullish(),
  }),
  usage: dashscopeUsageSchema.nullish(),
});

/** `POST /tasks/{task_id}/cancel` (HTTP 200): only a request id. */
export const dashscopeCancelResponseSchema = z.object({
  request_id: z.string().nullish(),
});

/**
 * `GET /tasks/?…`: one page of tasks; times in `data[]` are epoch milliseconds. The paging fields are optional: a
 * caller pages on what it gets (dashscope.md 3.8 leaves the page cap and the order undocumented).
 */
export const dashscopeTaskListResponseSchema = z.object({
  request_id: z.string().nullish(),
  total: looseNumber.nullish(),
  total_page: looseNumber.nullish(),
  page_no: looseNumber.nullish(),
  page_size: looseNumber.nullish(),
  data: z
    .array(
      z.object({
        task_id: z.string().min(1),
        status: z.string().nullish(),
        model_name: z.string().nullish(),
        gmt_create: looseNumber.nullish(),
        start_time: looseNumber.nullish(),
      }),
    )
    .nullish(),
});

/** `GET /uploads?action=getPolicy&model=…`: a short-lived form-upload credential for DashScope's temporary OSS. */
export const dashscopeUploadPolicyResponseSchema = z.object({
  request_id: z.string().nullish(),
  data: z.object({
    policy: z.string().min(1),
    signature: z.string().min(1),
    upload_dir: z.string().min(1),
    upload_host: z.string().min(1),
    oss_access_key_id: z.string().min(1),
    x_oss_object_acl: z.string().nullish(),
    x_oss_forbid_overwrite: z
      .preprocess((value) => (typeof value === "boolean" ? String(value) : value), z.string())
      .nullish(),
    /** How long the credential is valid, in seconds (300 in the docs). */
    expire_in_seconds: looseNumber.nullish(),
  }),
});

export type DashscopeSubmitResponse = z.infer<typeof dashscopeSubmitResponseSchema>;
export type DashscopeTaskResponse = z.infer<typeof dashscopeTaskResponseSchema>;
export type DashscopeTaskListResponse = z.infer<typeof dashscopeTaskListResponseSchema>;
export type DashscopeUploadPolicyResponse = z.infer<typeof dashscopeUploadPolicyResponseSchema>;
