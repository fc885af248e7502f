import type { StageConfig } from "../config.ts";
import { createSafeFetcher } from "../net/safe-fetch.ts";
import { createUrlGuard } from "../net/url-guard.ts";
import { createLocalObjectStore } from "../storage/local-object-store.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { createS3Client } from "../storage/s3-client.ts";
import { createS3ObjectStore } from "../storage/s3-object-store.ts";

/**
 * The object store alone, as `composeStage` builds it (S3 when S3_BUCKET is set, OUTPUT_DIR otherwise), for commands
 * that work on stored media and need no API key (`posters`). Call `close()` when done.
 */
export function openObjectStore(config: StageConfig): { objectStore: ObjectStore; close(): void } {
  // Nothing is downloaded by these commands; the fetcher only completes the store's options.
  const fetcher = createSafeFetcher({
    guard: createUrlGuard({ allowHosts: config.allowHosts }),
    maxBytes: config.maxVideoBytes,
  });
  if (!config.s3) {
    const objectStore = createLocalObjectStore({
      rootDir: config.outputDir,
      fetcher,
      maxVideoBytes: config.maxVideoBytes,
    });
    return { objectStore, close: () => {} };
  }
  const client = createS3Client({
    region: config.s3.region,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    credentials: config.s3.credentials,
  });
  const objectStore = createS3ObjectStore({
    client,
    bucket: config.s3.bucket,
    prefix: config.s3.prefix,
    publicBaseUrl: config.s3.publicBaseUrl,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    region: config.s3.region,
    fetcher,
    maxVideoBytes: config.maxVideoBytes,
  });
  return { objectStore, close: () => client.destroy() };
}
