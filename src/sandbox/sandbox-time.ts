/** DashScope reports Beijing times (UTC+8) without a zone designator (dashscope.md 3.3). */
export const BEIJING_OFFSET_MINUTES = 480;

/** Epoch milliseconds → `YYYY-MM-DD HH:mm:ss.SSS` in UTC+8, as in task bodies. */
export function formatDashscopeDate(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MINUTES * 60_000).toISOString().replace("T", " ").replace("Z", "");
}

/**
 * `YYYYMMDDhhmmss` (the list filter format) read in a zone `offsetMinutes` east of UTC → epoch milliseconds;
 * undefined when malformed. The docs do not say which zone the service reads it in (dashscope.md 3.8).
 */
export function parseDashscopeCompactTime(
  text: string,
  offsetMinutes: number = BEIJING_OFFSET_MINUTES,
): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  return Number.isNaN(epochMs) ? undefined : epochMs;
}
