import { loadConfig } from "../config.ts";
import { InputError } from "../errors/input-error.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { CliIo } from "./cli-io.ts";
import { openMetadataStore } from "./open-metadata-store.ts";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since 90m`, `1h`, `2d` (before now) or an ISO 8601 time. */
export function parseSince(text: string, now: number = Date.now()): Date {
  const relative = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (relative) return new Date(now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
  const absolute = Date.parse(text);
  if (Number.isNaN(absolute)) {
    throw InputError.forField(
      "since",
      `--since must be a duration such as 30m, 1h, 2d or an ISO time; got ${JSON.stringify(text)}`,
    );
  }
  return new Date(absolute);
}

/** `--limit`: a whole number 1..1000. */
export function parseLimit(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw InputError.forField(
      "limit",
      `--limit must be a whole number from 1 to 1000; got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** `key=value` → `{ key, value }`, or an InputError naming the flag. */
export function parseKeyValue(flag: string, text: string): { key: string; value: string } {
  const separator = text.indexOf("=");
  if (separator <= 0)
    throw InputError.forField(flag, `--${flag} must be key=value; got ${JSON.stringify(text)}`);
  return { key: text.slice(0, separator), value: text.slice(separator + 1) };
}

/** Opens the metadata store from the environment, runs `body`, closes it. */
export async function withMetadataStore<T>(
  io: CliIo,
  body: (store: MetadataStore) => Promise<T>,
): Promise<T> {
  const opened = await openMetadataStore(loadConfig(io.environment));
  try {
    return await body(opened.metadataStore);
  } finally {
    await opened.close();
  }
}
