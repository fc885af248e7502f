import type { Readable } from "node:stream";
import { StorageError } from "../errors/storage-error.ts";

/** An inclusive byte range, as in an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  /** First byte, 0-based. */
  start: number;
  /** Last byte, inclusive. A value past the object's end stands for its last byte (HTTP's rule). */
  end: number;
}

/** What `ObjectStore.stat` tells about a stored object. */
export interface ObjectStat {
  /** Size in bytes. */
  bytes: number;
  /** The stored content type (S3), or the one the key's extension names (local directory). */
  contentType: string;
}

/** An object opened for reading: a stream of its bytes (or of one range of them), never the whole object in memory. */
export interface ObjectRead {
  /** The bytes, streamed from the store; destroy it to stop early. */
  body: Readable;
  /** Size of the whole object in bytes (not of the range). */
  bytes: number;
  contentType: string;
  /** The bytes `body` carries when a range was asked, with `end` clamped to the object's last byte. */
  range?: ByteRange;
}

const CONTENT_TYPES: Record<string, string> = {
  mp4: "video/mp4",
  webp: "image/webp",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  bmp: "image/bmp",
};

/** The content type a key's extension names (the local store keeps none), `application/octet-stream` otherwise. */
export function contentTypeOfKey(key: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(key)?.[1]?.toLowerCase() ?? "";
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

/** Refuses a range that is not two whole numbers with `0 <= start <= end` (a caller's bug, never retried). */
export function assertValidRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new StorageError(`invalid byte range ${JSON.stringify({ start, end })}`, {
      code: "invalid_range",
      retryable: false,
    });
  }
}

/** The part of `range` an object of `size` bytes holds; a range that starts past its end is not satisfiable. */
export function clampRange(range: ByteRange, size: number, target: string): ByteRange {
  if (range.start >= size) throw rangeNotSatisfiable(target, range, size);
  return { start: range.start, end: Math.min(range.end, size - 1) };
}

export function rangeNotSatisfiable(target: string, range: ByteRange, size?: number): StorageError {
  return new StorageError(
    `bytes ${range.start}-${range.end} of ${target} cannot be read${size === undefined ? "" : ` (it has ${size} bytes)`}`,
    { code: "range_not_satisfiable", retryable: false },
  );
}

export function objectNotFound(target: string): StorageError {
  return new StorageError(`${target} does not exist`, { code: "object_not_found", retryable: false });
}
