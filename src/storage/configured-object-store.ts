import type { StageConfig } from "../config.ts";
import { createSafeFetcher, type SafeFetcher } from "../net/safe-fetch.ts";
import { createUrlGuard } from "../net/url-guard.ts";
import { createLocalObjectStore } from "./local-object-store.ts";
import type { ObjectStore } from "./object-store.ts";
import { createS3ObjectReader } from "./read-s3-object.ts";
import { createS3Client } from "./s3-client.ts";
import { createS3ObjectStore } from "./s3-object-store.ts";

/** The object store the configuration names, and a reader of `s3://` reference images when it is S3. */
export interface ConfiguredObjectStore {
  objectStore: ObjectStore;
  /** Reads a small object of any bucket these credentials reach (`s3://bucket/key` reference images). */
  readS3Object: ((bucket: string, key: string, maxBytes: number) => Promise<Uint8Array>) | undefined;
  /** Releases the S3 client's connections (nothing for the local directory). */
  close(): void;
}

/**
 * S3 when S3_BUCKET is set, the local directory under OUTPUT_DIR otherwise: for `composeStage`, and for the commands
 * that only read stored media and need no API key (`ui`, `posters`). Without a `fetcher` the store gets one that
 * only completes its options: those commands download nothing.
 */
export function createConfiguredObjectStore(
  config: Pick<StageConfig, "s3" | "outputDir" | "maxVideoBytes">,
  fetcher: SafeFetcher = createSafeFetcher({
    guard: createUrlGuard({ allowHosts: [] }),
    maxBytes: config.maxVideoBytes,
  }),
): ConfiguredObjectStore {
  if (!config.s3) {
    return {
      objectStore: createLocalObjectStore({
        rootDir: config.outputDir,
        fetcher,
        maxVideoBytes: config.maxVideoBytes,
      }),
      readS3Object: undefined,
      close: () => {},
    };
  }
  const client = createS3Client({
    region: config.s3.region,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    credentials: config.s3.credentials,
  });
  return {
    objectStore: createS3ObjectStore({
      client,
      bucket: config.s3.bucket,
      prefix: config.s3.prefix,
      publicBaseUrl: config.s3.publicBaseUrl,
      endpoint: config.s3.endpoint,
      forcePathStyle: config.s3.forcePathStyle,
      region: config.s3.region,
      fetcher,
      maxVideoBytes: config.maxVideoBytes,
    }),
    readS3Object: createS3ObjectReader(client),
    close: () => client.destroy(),
  };
}
