export { createLocalObjectStore, type LocalObjectStoreOptions } from "./local-object-store.ts";
export type { ObjectStore, StoredVideo } from "./object-store.ts";
export { createS3Client, type S3ClientOptions } from "./s3-client.ts";
export { createS3ObjectStore, type S3ObjectStoreOptions, toS3StorageError } from "./s3-object-store.ts";
