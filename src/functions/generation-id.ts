import { GENERATION_ID_PATTERN } from "../contract/video-generate-request.ts";

/**
 * The generation a run works on: the request's `generation_id` when it is a valid id, else `run-<runId>` (stable
 * across replays of one run, distinct between runs). Reads the raw event data, so a request that fails validation,
 * or a run canceled before it started, is still recorded under the id its sender knows.
 */
export function generationIdOfRun(eventData: unknown, runId: string): string {
  const requested = (eventData as { generation_id?: unknown } | null | undefined)?.generation_id;
  return typeof requested === "string" && GENERATION_ID_PATTERN.test(requested) ? requested : `run-${runId}`;
}
