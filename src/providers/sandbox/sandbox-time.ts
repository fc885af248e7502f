/** DashScope reports Beijing times (UTC+8) without a zone designator (dashscope.md 3.3). */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** Epoch milliseconds → `YYYY-MM-DD HH:mm:ss.SSS` in UTC+8, as in task bodies. */
export function formatDashscopeDate(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().replace("T", " ").replace("Z", "");
}

/** `YYYYMMDDhhmmss` in UTC+8 (the list filter format) → epoch milliseconds; undefined when malformed. */
export function parseDashscopeCompactTime(text: string): number | undefined {
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
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second) - BEIJING_OFFSET_MS;
  return Number.isNaN(epochMs) ? undefined : epochMs;
}
