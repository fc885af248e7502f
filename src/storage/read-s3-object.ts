import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { StorageError } from "../errors/storage-error.ts";
import { toS3StorageError } from "./s3-object-store.ts";

/** Reads a small object of any bucket the client may read (an `s3://bucket/key` reference image), under `maxBytes`. */
export function createS3ObjectReader(client: S3Client) {
  return async function readS3Object(bucket: string, key: string, maxBytes: number): Promise<Uint8Array> {
    let response: GetObjectCommandOutput;
    try {
      response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw toS3StorageError(error, "read", `s3://${bucket}/${key}`);
    }
    if ((response.ContentLength ?? 0) > maxBytes) {
      (response.Body as unknown as { destroy?: () => void } | undefined)?.destroy?.();
      throw new StorageError(
        `s3://${bucket}/${key} is ${response.ContentLength} bytes, over the ${maxBytes}-byte limit`,
        {
          code: "object_too_large",
          retryable: false,
        },
      );
    }
    if (!response.Body)
      throw new StorageError(`s3://${bucket}/${key} has no body`, { code: "s3_empty_body" });
    return response.Body.transformToByteArray();
  };
}
