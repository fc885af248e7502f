import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares a presented secret with the expected one in constant time. Both are hashed first, so the comparison runs
 * over equal lengths and its time tells nothing, not even the secret's length.
 */
export function safeEqual(given: string, expected: string): boolean {
  const hash = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(hash(given), hash(expected));
}
