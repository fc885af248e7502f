import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpFileServer, type TestHttpServer } from "../helpers/http-file-server.ts";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { runCli, startCli } from "./cli-process.ts";

let images: TestHttpServer;
beforeAll(async () => {
  images = await startHttpFileServer({
    "/frame.jpg": { file: SAMPLE_IMAGE_PATH, contentType: "image/jpeg" },
  });
});
afterAll(async () => {
  await images?.close();
});

/** Submits a task whose image is a URL, as a client of the sandbox would. */
async function submitWithImageUrl(baseUrl: string, imageUrl: string) {
  const response = await fetch(`${baseUrl}/services/aigc/video-generation/video-synthesis`, {
    method: "POST",
    headers: {
      authorization: "Bearer sk-sandbox",
      "content-type": "application/json",
      "x-dashscope-async": "enable",
    },
    body: JSON.stringify({
      model: "wan2.6-i2v-flash",
      input: { img_url: imageUrl, prompt: "waves" },
      parameters: { resolution: "720P", duration: 2, audio: false },
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function sandboxProcess(args: string[]) {
  const sandbox = startCli(["sandbox", "--port", "0", ...args], {});
  await sandbox.waitForOutput(/API base (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/, 30_000);
  const baseUrl = /API base (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(sandbox.output().stdout)![1]!;
  return { sandbox, baseUrl };
}

describe("video-gen sandbox", () => {
  it("downloads image URLs only from the hosts --allow-image-host names", async () => {
    const imageUrl = `${images.origin}/frame.jpg`;
    const open = await sandboxProcess(["--allow-image-host", `127.0.0.1:${images.port}`]);
    try {
      const accepted = await submitWithImageUrl(open.baseUrl, imageUrl);
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ output: { task_status: "PENDING" } });
    } finally {
      open.sandbox.child.kill("SIGTERM");
      await open.sandbox.exited(10_000);
    }

    const closed = await sandboxProcess([]);
    try {
      const refused = await submitWithImageUrl(closed.baseUrl, imageUrl);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: "InvalidParameter.DataInspection" });
    } finally {
      closed.sandbox.child.kill("SIGTERM");
      await closed.sandbox.exited(10_000);
    }
  });

  it("refuses a malformed --allow-image-host with exit 2, naming the flag", async () => {
    const result = await runCli(["sandbox", "--port", "0", "--allow-image-host", "http://x/"], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--allow-image-host must be host or host:port");
  });
});
