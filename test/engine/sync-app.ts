/**
 * Syncs the app served at `endpoint` (`…/api/inngest`) with its Inngest server, as `PUT` does for a user: the SDK
 * registers its functions there. Throws with the answer (and `context`, e.g. the process's log) when it did not.
 */
export async function syncApp(endpoint: string, context = ""): Promise<void> {
  const response = await fetch(endpoint, { method: "PUT", signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  if (!response.ok || !text.includes("Successfully registered")) {
    throw new Error(`sync of ${endpoint} failed: ${response.status} ${text}${context ? `\n${context}` : ""}`);
  }
}
