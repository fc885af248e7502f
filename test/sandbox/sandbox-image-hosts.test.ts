import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors/provider-error.ts";
import { createDashscopeVideoProvider } from "../../src/providers/dashscope/index.ts";
import type { ProviderStartInput } from "../../src/providers/provider.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { type S3TestTarget, s3TestTarget } from "../helpers/s3-test-target.ts";
import { makeImage, waitForTask } from "./sandbox-test-helpers.ts";

/**
 * The sandbox downloads an http(s) `img_url` the way the service does, but only from the hosts it is told about:
 * a loopback test server is reachable only when listed, and a presigned GET URL of the test S3 server works with
 * its query intact (the route the stage uses for images in a reachable object store).
 */
describe("sandbox image URLs and allowed hosts", () => {
  let image: Buffer;
  let imageServer: Server;
  let imagePort: number;
  let imageRequests = 0;
  let s3: S3TestTarget;
  const sandboxes: SandboxHandle[] = [];

  beforeAll(async () => {
    image = await makeImage(640, 360, "jpeg");
    imageServer = createServer((_request, response) => {
      imageRequests += 1;
      response.writeHead(200, { "content-type": "image/jpeg" });
      response.end(image);
    });
    await new Promise<void>((resolve) => imageServer.listen(0, "127.0.0.1", resolve));
    imagePort = (imageServer.address() as AddressInfo).port;
    s3 = s3TestTarget();
  });
  afterAll(async () => {
    await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
    await new Promise((resolve) => imageServer?.close(resolve));
    s3?.client.destroy();
  });

  async function sandboxAllowing(allowImageHosts?: string[]): Promise<SandboxHandle> {
    const sandbox = await startSandbox({
      timings: { pendingMs: 0, renderMs: 0 },
      submitsPerSecond: 100,
      ...(allowImageHosts ? { allowImageHosts } : {}),
    });
    sandboxes.push(sandbox);
    return sandbox;
  }

  const startInput = (url: string): ProviderStartInput => ({
    prompt: "a harbour at dawn",
    resolution: "720P",
    duration: 2,
    seed: 3,
    audio: false,
    image: { kind: "url", url },
  });

  /** Submits through the real client; returns the task id, or the ProviderError. */
  async function submit(sandbox: SandboxHandle, url: string): Promise<string | ProviderError> {
    const provider = createDashscopeVideoProvider({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl });
    return provider.start(startInput(url)).then(
      (started) => started.taskId,
      (error: unknown) => {
        if (error instanceof ProviderError) return error;
        throw error;
      },
    );
  }

  const expectUnreachable = (result: string | ProviderError) => {
    expect(result).toBeInstanceOf(ProviderError);
    expect(result).toMatchObject({
      kind: "rejected",
      code: "InvalidParameter.DataInspection",
      httpStatus: 400,
    });
  };

  it("downloads from no host by default, loopback test servers included", async () => {
    const sandbox = await sandboxAllowing();
    const before = imageRequests;
    expectUnreachable(await submit(sandbox, `http://127.0.0.1:${imagePort}/frame.jpg`));
    expect(imageRequests).toBe(before);
    expect(sandbox.stats().tasksCreated).toBe(0);
  });

  it.each([
    { label: "the server's host:port", entry: (port: number) => `127.0.0.1:${port}`, allowed: true },
    { label: "its host, any port", entry: () => "127.0.0.1", allowed: true },
    { label: "the host with another port", entry: (port: number) => `127.0.0.1:${port + 1}`, allowed: false },
    { label: "another name for it", entry: (port: number) => `localhost:${port}`, allowed: false },
  ])("downloads when allowImageHosts lists $label: $allowed", async ({ entry, allowed }) => {
    const sandbox = await sandboxAllowing([entry(imagePort)]);
    const before = imageRequests;
    const result = await submit(sandbox, `http://127.0.0.1:${imagePort}/frame.jpg`);
    if (!allowed) {
      expectUnreachable(result);
      expect(imageRequests).toBe(before);
      return;
    }
    expect(typeof result).toBe("string");
    expect(imageRequests).toBe(before + 1);
    expect(sandbox.tasks()[0]?.image).toEqual({ source: "url", format: "jpeg", width: 640, height: 360 });
  });

  it("fetches a presigned GET URL of the S3 server with its query, and refuses one the server refuses (expired)", async () => {
    const key = `${s3.prefix}frame.jpg`;
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: image, ContentType: "image/jpeg" }),
    );
    try {
      const sandbox = await sandboxAllowing([new URL(s3.endpoint).host]);
      const presigned = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.bucket, Key: key }), {
        expiresIn: 300,
      });
      expect(new URL(presigned).searchParams.get("X-Amz-Signature")).toBeTruthy();

      const taskId = await submit(sandbox, presigned);
      if (typeof taskId !== "string") throw taskId;
      const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, taskId, 30_000);
      expect(finished.output.task_status).toBe("SUCCEEDED");
      expect(sandbox.tasks().find((task) => task.taskId === taskId)?.image).toEqual({
        source: "url",
        format: "jpeg",
        width: 640,
        height: 360,
      });

      // What the S3 server refuses (here: an expired presigned URL, 403) is an image the service could not download.
      const shortLived = await getSignedUrl(
        s3.client,
        new GetObjectCommand({ Bucket: s3.bucket, Key: key }),
        {
          expiresIn: 1,
        },
      );
      await sleep(2_100);
      expectUnreachable(await submit(sandbox, shortLived));
      expect(sandbox.stats().tasksCreated).toBe(1);
    } finally {
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    }
  });
});
