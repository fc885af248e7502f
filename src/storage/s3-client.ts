import { S3Client } from "@aws-sdk/client-s3";

export interface S3ClientOptions {
  /** AWS region, e.g. `us-east-1` (S3-compatible servers accept any). */
  region: string;
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:7480`. Default: AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. Default false. */
  forcePathStyle?: boolean;
  /** Static credentials. Default: the SDK's provider chain (environment, shared files, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Creates the S3 client the stores use. Checksums are computed and validated only when an operation requires them:
 * with the SDK's default (`WHEN_SUPPORTED`) a streamed PutObject is sent `aws-chunked` with a trailing CRC32, which
 * S3-compatible servers either reject or silently store with the chunk framing inside the object.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
