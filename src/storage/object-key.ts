import { StorageError } from "../errors/index.ts";

/**
 * Rejects keys that could escape the store's prefix or root: empty, absolute, backslashes, `.`/`..` segments,
 * empty segments or control characters. Keys are made by the stage (`videos/<cache-key>.mp4`), so a bad one is a bug.
 */
export function assertValidKey(key: string): void {
  const segments = key.split("/");
  const invalid =
    key.length === 0 ||
    key.length > 900 ||
    key.includes("\\") ||
    Array.from(key).some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f) ||
    segments.some((segment) => segment === "" || segment === "." || segment === "..");
  if (invalid) {
    throw new StorageError(`invalid object key ${JSON.stringify(key.slice(0, 100))}`, {
      code: "invalid_key",
      retryable: false,
    });
  }
}
