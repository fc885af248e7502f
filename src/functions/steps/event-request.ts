/**
 * The request carried by the trigger event. Inngest adds `data._inngest` (`fn_id`, `correlation_id`, …) to the event
 * of a run started by `step.invoke` or the dashboard's Invoke button; that key, and only that key, is not part of
 * the request. Everything else is validated as sent.
 */
export function requestOfEvent(eventData: unknown): unknown {
  if (eventData === null || typeof eventData !== "object" || !("_inngest" in eventData)) return eventData;
  const { _inngest: _invocation, ...request } = eventData as Record<string, unknown>;
  return request;
}

/**
 * Values of the request that may be secrets (a presigned image or audio URL) or large (a data: URI). Step outputs
 * carry them redacted; the steps that send them read them here, from the event, which is immutable for a run.
 */
export function sensitiveRequestValues(eventData: unknown): { referenceImage: string; audioUrl?: string } {
  const request = requestOfEvent(eventData) as { reference_image?: unknown; audio_url?: unknown };
  const values: { referenceImage: string; audioUrl?: string } = {
    referenceImage: String(request.reference_image),
  };
  if (typeof request.audio_url === "string") values.audioUrl = request.audio_url;
  return values;
}
