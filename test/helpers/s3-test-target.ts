import { randomUUID } from "node:crypto";
import { HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import { createS3Client } from "../../src/storage/s3-client.ts";
import type { S3TestServer } from "../setup/s3.global.ts";

/** The suite's S3 server (s3rver, or TEST_S3_ENDPOINT) plus a fresh key prefix, so tests never share keys. */
export interface S3TestTarget extends S3TestServer {
  client: S3Client;
  /** Unique per call, ends with `/`, e.g. `t-<uuid>/`. */
  prefix: string;
}

/** Returns a client for the suite's S3 server and a prefix no other test uses. Call `client.destroy()` when done. */
export function s3TestTarget(): S3TestTarget {
  const server = inject("s3");
  const client = createS3Client({
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  return { ...server, client, prefix: `t-${randomUUID()}/` };
}

/** Multipart uploads still open under `prefix` (should be none after any copy, failed or not). */
export async function pendingUploads(target: S3TestTarget, prefix = target.prefix): Promise<string[]> {
  const listing = await target.client.send(
    new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: prefix }),
  );
  return (listing.Uploads ?? []).map((upload) => upload.Key ?? "");
}

/** Whether an object exists at the full key (prefix included). */
export async function objectExists(target: S3TestTarget, fullKey: string): Promise<boolean> {
  try {
    await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: fullKey }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return false;
    throw error;
  }
}
