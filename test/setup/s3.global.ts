import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BucketAlreadyOwnedByYou, CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import type { TestProject } from "vitest/node";
import { createS3Client } from "../../src/storage/s3-client.ts";

/** The S3-compatible server the suites use, given to tests through `inject("s3")`. */
export interface S3TestServer {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** `s3rver` (started here) or `external` (TEST_S3_ENDPOINT, e.g. Ceph radosgw in CI). */
  flavor: "s3rver" | "external";
}

declare module "vitest" {
  export interface ProvidedContext {
    s3: S3TestServer;
  }
}

/**
 * Runs s3rver in a child process: it needs `--openssl-legacy-provider` (DES-encrypted continuation tokens), which
 * the test workers should not inherit. The child exits when its stdin closes, so it never outlives the runner.
 *
 * s3rver 3.7.1 implements neither ListMultipartUploads nor AbortMultipartUpload (both answer NotImplemented or
 * 405), so a small shim serves them from its own upload directory (`<dir>/<bucket>/._S3rver_uploads/<id>/key`).
 * Without it a test could not tell an aborted multipart upload from a leaked one. Radosgw implements both.
 */
const CHILD_SOURCE = `
const fs = require("node:fs/promises");
const path = require("node:path");
const S3rver = require(process.argv[1]);
const directory = process.argv[2];
const uploadsOf = (bucket) => path.join(directory, bucket, "._S3rver_uploads");
const xmlEscape = (text) => text.replace(/[<>&"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
async function multipartShim(ctx, next) {
  const [, bucket, ...rest] = decodeURIComponent(ctx.path).split("/");
  const key = rest.join("/");
  if (ctx.method === "GET" && !key && "uploads" in ctx.query) {
    const prefix = ctx.query.prefix || "";
    const ids = await fs.readdir(uploadsOf(bucket)).catch(() => []);
    const uploads = [];
    for (const id of ids) {
      const uploadKey = await fs.readFile(path.join(uploadsOf(bucket), id, "key"), "utf8").catch(() => undefined);
      if (uploadKey !== undefined && uploadKey.startsWith(prefix)) uploads.push({ id, key: uploadKey });
    }
    ctx.type = "application/xml";
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>' + xmlEscape(bucket) +
      "</Bucket><IsTruncated>false</IsTruncated>" +
      uploads.map((u) => "<Upload><Key>" + xmlEscape(u.key) + "</Key><UploadId>" + xmlEscape(u.id) + "</UploadId></Upload>").join("") +
      "</ListMultipartUploadsResult>";
    return;
  }
  if (ctx.method === "DELETE" && key && typeof ctx.query.uploadId === "string") {
    const uploadDirectory = path.join(uploadsOf(bucket), path.basename(ctx.query.uploadId));
    const exists = await fs.stat(uploadDirectory).then(() => true, () => false);
    if (!exists) {
      ctx.status = 404; ctx.type = "application/xml";
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist</Message></Error>';
      return;
    }
    await fs.rm(uploadDirectory, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  return next();
}
const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory,
  configureBuckets: [{ name: process.argv[3] }] });
server.middleware.splice(server.middleware.length - 1, 0, multipartShim);
server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + "\\n"));
process.stdin.on("end", () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/** Starts s3rver 3.7.1 on 127.0.0.1 with an ephemeral port and a temporary directory (also used by the benchmark). */
export async function startS3rver(
  bucket: string,
): Promise<{ server: S3TestServer; stop: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const s3rverPath = createRequire(import.meta.url).resolve("s3rver");
  const child: ChildProcess = spawn(
    process.execPath,
    ["--openssl-legacy-provider", "-e", CHILD_SOURCE, s3rverPath, directory, bucket],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("s3rver did not start within 30 s")), 30_000);
    let output = "";
    child.stdout?.on("data", (data: Buffer) => {
      output += data.toString();
      const line = output.split("\n").find((candidate) => candidate.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code} before listening`));
    });
  });
  const server: S3TestServer = {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    bucket,
    flavor: "s3rver",
  };
  return {
    server,
    async stop() {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function useExternal(endpoint: string): Promise<S3TestServer> {
  const server: S3TestServer = {
    endpoint,
    region: process.env.TEST_S3_REGION ?? "us-east-1",
    accessKeyId: process.env.TEST_S3_ACCESS_KEY ?? "",
    secretAccessKey: process.env.TEST_S3_SECRET_KEY ?? "",
    bucket: process.env.TEST_S3_BUCKET ?? "media",
    flavor: "external",
  };
  const client = createS3Client({
    region: server.region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: server.bucket })).catch(async () => {
      await client.send(new CreateBucketCommand({ Bucket: server.bucket })).catch((error) => {
        if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
      });
    });
  } finally {
    client.destroy();
  }
  return server;
}

/** Starts s3rver on 127.0.0.1 (or uses TEST_S3_ENDPOINT) and provides it as `inject("s3")`. */
export default async function setup(project: TestProject) {
  const external = process.env.TEST_S3_ENDPOINT;
  if (external) {
    project.provide("s3", await useExternal(external));
    return;
  }
  const { server, stop } = await startS3rver("media");
  project.provide("s3", server);
  return stop;
}
