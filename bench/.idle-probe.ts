import { createS3Client, createS3ObjectStore } from "../src/storage/index.ts";
import { createSafeFetcher } from "../src/net/safe-fetch.ts";
import { Upload } from "@aws-sdk/lib-storage";
const c = createS3Client({ region: "us-east-1", endpoint: "http://127.0.0.1:1", forcePathStyle: true, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
void Upload; void createSafeFetcher; void createS3ObjectStore;
globalThis.gc?.();
console.log("rss", (process.memoryUsage().rss / 1048576).toFixed(0), "heap", (process.memoryUsage().heapUsed/1048576).toFixed(0));
c.destroy();
