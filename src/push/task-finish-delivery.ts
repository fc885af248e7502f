import { z } from "zod";

/** The event type DashScope emits when an async task ends. */
export const ASYNC_TASK_FINISH = "dashscope:System:AsyncTaskFinish";

/**
 * A "full event" delivery of `dashscope:System:AsyncTaskFinish`: a CloudEvents JSON envelope whose `data` names the
 * task. Only the fields the stage uses are required; the rest pass through (docs/push.md lists them).
 */
export const taskFinishDeliverySchema = z.looseObject({
  id: z.string().optional(),
  source: z.string().optional(),
  type: z.string(),
  data: z.looseObject({
    task_id: z.string().min(1).max(200),
    /** SUCCEEDED, FAILED, CANCELED, UNKNOWN…; the run's own check decides what it means. */
    task_status: z.string().min(1).max(40),
  }),
});

/** A parsed delivery. */
export type TaskFinishDelivery = z.infer<typeof taskFinishDeliverySchema>;

/** The delivery in a raw body, or null when it is not JSON of that shape. */
export function parseTaskFinishDelivery(body: string): TaskFinishDelivery | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = taskFinishDeliverySchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
