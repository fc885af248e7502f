import type { MediaInfo } from "../media/media-info.ts";
import type { ByteRange, ObjectRead, ObjectStat } from "./object-read.ts";

export type { ByteRange, ObjectRead, ObjectStat } from "./object-read.ts";

/** A video written to the object store, with what was measured on the way. */
export interface StoredVideo {
  /** The logical key the caller gave, e.g. `videos/<cache-key>.mp4` (the store adds its own prefix). */
  key: string;
  /** `s3://bucket/<prefix><key>` or `file:///abs/path`. */
  uri: string;
  /** Durable URL for readers (S3_PUBLIC_BASE_URL + key, the bucket's URL, or a file:// URL). */
  url: string;
  /** Stored size in bytes. */
  bytes: number;
  /** sha256 of the stored bytes, hex. */
  sha256: string;
  /** Always `video/mp4`. */
  contentType: string;
  /** Probed from the stored bytes. */
  media: MediaInfo;
}

/**
 * Where results live: S3 (or an S3-compatible server) or a local directory. Every write is all-or-nothing: a failed
 * copy leaves nothing under the final key (multipart upload aborted, or a temporary file removed).
 */
export interface ObjectStore {
  readonly kind: "s3" | "local";
  /**
   * Streams a remote MP4 into the store under `key`, overwriting what is there, without holding the file in memory.
   * Checks the URL against the fetch policy (no private targets, redirects re-checked), the byte count against
   * Content-Length and the size cap, and that the body is an MP4; computes sha256 and probes the media on the way.
   */
  copyFromUrl(url: string, key: string, options?: { signal?: AbortSignal }): Promise<StoredVideo>;
  /** Stores a local MP4 file (e.g. the conform pass's output) under `key`, with the same checks. */
  putVideoFile(path: string, key: string, options?: { signal?: AbortSignal }): Promise<StoredVideo>;
  /** Stores a small object (a reference image). */
  putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** Reads a small object; fails with a StorageError above `maxBytes`. */
  getBytes(key: string, maxBytes: number): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Size and content type of `key`, or null when there is no such object. */
  stat(key: string): Promise<ObjectStat | null>;
  /**
   * Opens `key` for streaming (never buffered whole), or only the bytes of `range` (end clamped to the last byte).
   * A missing object fails with a StorageError `object_not_found`, a range starting past the end with
   * `range_not_satisfiable`; neither is retryable.
   */
  openRead(key: string, range?: ByteRange): Promise<ObjectRead>;
  delete(key: string): Promise<void>;
  /** The durable URL of `key`. */
  urlFor(key: string): string;
  /** The storage URI of `key`. */
  uriFor(key: string): string;
  /** A time-limited read URL (S3 presigned GET; a file:// URL for the local store). */
  presign(key: string, ttlSeconds: number): Promise<string>;
}
