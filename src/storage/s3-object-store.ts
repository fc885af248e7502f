import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { isVideoGenerationError, StorageError } from "../errors/index.ts";
import type { SafeFetcher } from "../net/safe-fetch.ts";
import { assertValidKey } from "./object-key.ts";
import {
  assertValidRange,
  type ByteRange,
  contentTypeOfKey,
  objectNotFound,
  rangeNotSatisfiable,
} from "./object-read.ts";
import type { ObjectStore, StoredVideo } from "./object-store.ts";
import { createVideoMeter } from "./video-meter.ts";

export interface S3ObjectStoreOptions {
  /** A client from `createS3Client` (checksums `WHEN_REQUIRED`). */
  client: S3Client;
  bucket: string;
  /** Prepended to every key, e.g. `"stage/"`. Default `""`. */
  prefix?: string;
  /** Base of the durable URLs (a CDN or public bucket URL); `urlFor` = base + prefix + key. */
  publicBaseUrl?: string;
  /**
   * The S3 endpoint and addressing style, used only to build `urlFor` when `publicBaseUrl` is absent (the client's
   * resolved config is asynchronous). Default: the AWS virtual-host URL in `region`.
   */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Region for the AWS bucket URL. Default `us-east-1`. */
  region?: string;
  /** Downloads the provider's result URL. */
  fetcher: SafeFetcher;
  /** Largest video accepted, in bytes. */
  maxVideoBytes: number;
  /**
   * Multipart part size in bytes. Default 5 MiB, the S3 minimum. Memory is about partSize × (queueSize + 1); a body
   * that ends within one part is sent as a single PutObject instead.
   */
  partSizeBytes?: number;
  /** Parts uploaded at once. Default 3. */
  queueSize?: number;
}

const VIDEO_CONTENT_TYPE = "video/mp4";

/**
 * Default multipart part size in bytes: 5 MiB, with {@link DEFAULT_QUEUE_SIZE} parts in flight, holds about 20 MiB of
 * parts (8 MiB × 4 held 40). Against s3rver on two cores the copy ran as fast with 5 MiB × 3 as with 8 MiB × 4 and
 * peaked about 20 MiB lower
 * (`bench/copy-benchmark.ts --part-size-mib 8 --queue 4` to compare). One S3 connection carries tens of MB/s, and the source (a
 * provider's result URL) rarely serves faster than three of them take.
 */
export const DEFAULT_PART_SIZE_BYTES = 5 * 1024 * 1024;
/** Default number of parts uploaded at once (see {@link DEFAULT_PART_SIZE_BYTES}). */
export const DEFAULT_QUEUE_SIZE = 3;

/** Error names that no retry can fix. */
const PERMANENT_CODES: Record<string, string> = {
  AccessDenied: "s3_access_denied",
  InvalidAccessKeyId: "s3_access_denied",
  SignatureDoesNotMatch: "s3_access_denied",
  AllAccessDisabled: "s3_access_denied",
  NoSuchBucket: "s3_no_such_bucket",
  NoSuchKey: "s3_not_found",
  NotFound: "s3_not_found",
  InvalidBucketName: "s3_invalid_request",
  EntityTooLarge: "s3_invalid_request",
};

/**
 * Maps an SDK error to a StorageError: permanent for access and missing-bucket errors and other 4xx, retryable for
 * throttling, 5xx and network failures. Only the error's name, HTTP status and request id are kept: SDK errors can
 * carry the canonical request and string-to-sign.
 */
export function toS3StorageError(error: unknown, operation: string, target: string): StorageError {
  if (error instanceof StorageError) return error;
  const sdkError = error as {
    name?: string;
    Code?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const name = sdkError.Code ?? sdkError.name ?? "Error";
  const status = sdkError.$metadata?.httpStatusCode;
  const requestId = sdkError.$metadata?.requestId;
  const detail = [
    name,
    status ? `HTTP ${status}` : sdkError.code,
    requestId ? `request ${requestId}` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
  const message = `S3 ${operation} of ${target} failed (${detail})`;
  const permanent = PERMANENT_CODES[name];
  if (permanent) return new StorageError(message, { code: permanent, retryable: false });
  const retryable =
    status === undefined ||
    status >= 500 ||
    status === 408 ||
    status === 429 ||
    /Throttl|SlowDown|Timeout/i.test(name);
  return new StorageError(message, { code: retryable ? "s3_unavailable" : "s3_rejected", retryable });
}

function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** `bytes 0-99/1000` → the served range and the object's size; null when absent or malformed. */
function parseContentRange(header: string | undefined): (ByteRange & { size: number }) | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? "");
  if (!match) return null;
  return { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) };
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** Creates the S3 (or S3-compatible) result store. */
export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  const { client, bucket } = options;
  const prefix = options.prefix ?? "";
  const partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  const objectKey = (key: string) => {
    assertValidKey(key);
    return `${prefix}${key}`;
  };
  const uriFor = (key: string) => `s3://${bucket}/${objectKey(key)}`;

  function bucketBaseUrl(): string {
    if (options.publicBaseUrl) return options.publicBaseUrl.replace(/\/+$/, "");
    if (options.endpoint) {
      const endpoint = new URL(options.endpoint);
      const base = endpoint.toString().replace(/\/+$/, "");
      if (options.forcePathStyle) return `${base}/${bucket}`;
      return `${endpoint.protocol}//${bucket}.${endpoint.host}${endpoint.pathname.replace(/\/+$/, "")}`;
    }
    return `https://${bucket}.s3.${options.region ?? "us-east-1"}.amazonaws.com`;
  }
  const baseUrl = bucketBaseUrl();

  async function storeVideo(
    source: Readable,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<StoredVideo> {
    const Key = objectKey(key);
    const target = `s3://${bucket}/${Key}`;
    const meter = createVideoMeter({ maxBytes: options.maxVideoBytes });
    // The meter's own errors (cap, not an MP4, a short body) end the upload's input with an error, so lib-storage
    // aborts the multipart upload before completing it: a failed body never becomes an object. A body that ends
    // within the first part (most clips: a 15 s 720P render is a few MB) is buffered, at most one part, and sent as a
    // single PutObject with its exact length: no CreateMultipartUpload/Complete round trips. That PUT starts only
    // once the stream has ended, i.e. after the meter's flush accepted the size, the sha256 and the probe's verdict,
    // so a body failing those checks sends no request at all.
    const feeding = pipeline(source, meter.stream, ...(signal ? [{ signal }] : [])).catch(() => undefined);
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key, Body: meter.stream, ContentType: VIDEO_CONTENT_TYPE },
      partSize,
      queueSize,
    });
    try {
      await upload.done();
    } catch (error) {
      meter.stream.destroy();
      source.destroy();
      await feeding;
      // lib-storage aborts on failure already; repeat it in case the failure raced the upload's creation.
      if (upload.uploadId) {
        await client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: upload.uploadId }))
          .catch(() => undefined);
      }
      const cause = meter.stream.errored ?? error;
      if (isVideoGenerationError(cause)) throw cause;
      if (signal?.aborted) {
        throw new StorageError(`copy to ${target} was aborted`, { code: "aborted", retryable: false });
      }
      throw toS3StorageError(cause, "upload", target);
    }
    await feeding;
    const measured = meter.result();
    // RGW answers CompleteMultipartUpload with an empty ETag: verify the stored length with a HEAD instead. It is
    // one bodiless round trip (5–15 ms against s3rver), a few percent of even a 10 MiB copy.
    const head = await client
      .send(new HeadObjectCommand({ Bucket: bucket, Key }))
      .catch((error) => Promise.reject(toS3StorageError(error, "head", target)));
    if (head.ContentLength !== measured.bytes) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
      throw new StorageError(
        `${target} holds ${head.ContentLength} bytes after uploading ${measured.bytes}`,
        {
          code: "s3_length_mismatch",
          retryable: true,
        },
      );
    }
    return {
      key,
      uri: target,
      url: `${baseUrl}/${encodeKey(Key)}`,
      bytes: measured.bytes,
      sha256: measured.sha256,
      contentType: VIDEO_CONTENT_TYPE,
      media: measured.media,
    };
  }

  return {
    kind: "s3",
    async copyFromUrl(url, key, callOptions = {}) {
      objectKey(key);
      const opened = await options.fetcher.open(url, {
        maxBytes: options.maxVideoBytes,
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
      });
      return storeVideo(opened.body, key, callOptions.signal);
    },
    async putVideoFile(path, key, callOptions = {}) {
      objectKey(key);
      return storeVideo(createReadStream(path, { highWaterMark: 1024 * 1024 }), key, callOptions.signal);
    },
    async putBytes(key, bytes, contentType) {
      const Key = objectKey(key);
      await client
        .send(new PutObjectCommand({ Bucket: bucket, Key, Body: bytes, ContentType: contentType }))
        .catch((error) => Promise.reject(toS3StorageError(error, "put", uriFor(key))));
    },
    async getBytes(key, maxBytes) {
      const Key = objectKey(key);
      const response = await client
        .send(new GetObjectCommand({ Bucket: bucket, Key }))
        .catch((error) => Promise.reject(toS3StorageError(error, "get", uriFor(key))));
      const body = response.Body as Readable;
      if ((response.ContentLength ?? 0) > maxBytes) {
        body.destroy();
        throw new StorageError(
          `${uriFor(key)} has ${response.ContentLength} bytes, over the cap of ${maxBytes}`,
          {
            code: "too_large",
            retryable: false,
          },
        );
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.byteLength;
        if (total > maxBytes) {
          body.destroy();
          throw new StorageError(`${uriFor(key)} exceeds the cap of ${maxBytes} bytes`, {
            code: "too_large",
            retryable: false,
          });
        }
        chunks.push(chunk);
      }
      return new Uint8Array(Buffer.concat(chunks));
    },
    async exists(key) {
      const Key = objectKey(key);
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
        return true;
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // HEAD has no body, so a missing bucket also reads as 404 NotFound; the object is absent either way.
        if (status === 404) return false;
        throw toS3StorageError(error, "head", uriFor(key));
      }
    },
    async stat(key) {
      const Key = objectKey(key);
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
        return { bytes: head.ContentLength ?? 0, contentType: head.ContentType ?? contentTypeOfKey(key) };
      } catch (error) {
        if (httpStatusOf(error) === 404) return null;
        throw toS3StorageError(error, "head", uriFor(key));
      }
    },
    async openRead(key, range) {
      const Key = objectKey(key);
      assertValidRange(range);
      const target = uriFor(key);
      let response: GetObjectCommandOutput;
      try {
        response = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
      } catch (error) {
        const status = httpStatusOf(error);
        if (status === 404 && (error as { name?: string }).name !== "NoSuchBucket")
          throw objectNotFound(target);
        if (status === 416 && range) throw rangeNotSatisfiable(target, range);
        throw toS3StorageError(error, "get", target);
      }
      const body = response.Body as Readable;
      const contentType = response.ContentType ?? contentTypeOfKey(key);
      if (!range) return { body, bytes: response.ContentLength ?? 0, contentType };
      const served = parseContentRange(response.ContentRange);
      if (!served) {
        // A server that ignores Range sends the whole object: refused rather than passed off as the range.
        body.destroy();
        throw new StorageError(`the S3 server answered a range read of ${target} with the whole object`, {
          code: "s3_range_ignored",
          retryable: false,
        });
      }
      return { body, bytes: served.size, contentType, range: { start: served.start, end: served.end } };
    },
    async delete(key) {
      const Key = objectKey(key);
      await client
        .send(new DeleteObjectCommand({ Bucket: bucket, Key }))
        .catch((error) => Promise.reject(toS3StorageError(error, "delete", uriFor(key))));
    },
    urlFor(key) {
      return `${baseUrl}/${encodeKey(objectKey(key))}`;
    },
    uriFor,
    async presign(key, ttlSeconds) {
      const Key = objectKey(key);
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key }), { expiresIn: ttlSeconds });
    },
  };
}
