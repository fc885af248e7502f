import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors/provider-error.ts";
import { createDashscopeVideoProvider } from "../../src/providers/dashscope/index.ts";
import type { ProviderStartInput, ProviderTaskStatus, VideoProvider } from "../../src/providers/provider.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { call, dataUri, makeImage, submitBody, submitHeaders, submitPath } from "./sandbox-test-helpers.ts";

/**
 * Whether an invalid parameter is refused at submit or accepted and then FAILED is not documented (dashscope.md 2.2);
 * the docs' own FAILED example ("InvalidParameter", "The size is not match xxxxxx") is of the second kind. The sandbox
 * serves both readings, and the client reports each the way the stage expects.
 */
describe("sandbox parameter errors: refused at submit, or accepted and FAILED", () => {
  let rejecting: SandboxHandle;
  let failing: SandboxHandle;
  let image: Buffer;

  beforeAll(async () => {
    const options = { timings: { pendingMs: 50, renderMs: 50 }, submitsPerSecond: 100 };
    rejecting = await startSandbox(options);
    failing = await startSandbox({ ...options, parameterErrors: "fail-task" });
    image = await makeImage(640, 360);
  });
  afterAll(async () => {
    await rejecting?.close();
    await failing?.close();
  });

  const clientOf = (sandbox: SandboxHandle) =>
    createDashscopeVideoProvider({ apiKey: sandbox.apiKey, baseUrl: sandbox.baseUrl });
  const input = (overrides: Partial<ProviderStartInput> = {}): ProviderStartInput => ({
    prompt: "waves roll in",
    resolution: "720P",
    duration: 2,
    seed: 5,
    audio: false,
    image: { kind: "url", url: dataUri(image) },
    ...overrides,
  });

  async function finalStatus(client: VideoProvider, taskId: string): Promise<ProviderTaskStatus> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await client.status(taskId);
      if ((status.status !== "pending" && status.status !== "running") || Date.now() > deadline)
        return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("refuses an invalid parameter at submit by default", async () => {
    const error = await clientOf(rejecting)
      .start(input({ duration: 16 }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: "rejected", code: "InvalidParameter", httpStatus: 400 });
    expect(rejecting.stats().tasksCreated).toBe(0);
  });

  it("in fail-task mode, accepts an invalid parameter and ends the task FAILED with InvalidParameter", async () => {
    const client = clientOf(failing);
    const started = await client.start(input({ duration: 16 }));
    const status = await finalStatus(client, started.taskId);
    expect(status).toMatchObject({
      status: "failed",
      code: "InvalidParameter",
      message:
        "Required parameter(parameters.duration) missing or invalid, please check the request parameters.",
    });
    const task = failing.tasks().find((candidate) => candidate.taskId === started.taskId);
    expect(task).toMatchObject({ status: "FAILED", sentParameters: { duration: 16 } });
  });

  it("in fail-task mode, an image of an unsupported size is a FAILED task too", async () => {
    const client = clientOf(failing);
    const started = await client.start(
      input({ image: { kind: "url", url: dataUri(await makeImage(200, 200)) } }),
    );
    expect(await finalStatus(client, started.taskId)).toMatchObject({
      status: "failed",
      code: "InvalidParameter",
      message: expect.stringContaining("The image size is not supported"),
    });
  });

  it("in fail-task mode, still refuses at submit what is not a parameter: auth, JSON, model, an unreadable image", async () => {
    const submit = (body: string, headers = submitHeaders(failing.apiKey)) =>
      call(`${failing.baseUrl}${submitPath}`, { method: "POST", headers, body });
    expect((await submit(submitBody(dataUri(image)), submitHeaders("sk-wrong"))).status).toBe(401);
    expect((await submit("{not json")).json().code).toBe("BadRequest.IllegalInput");
    expect(
      (await submit(JSON.stringify({ model: "wan2.6-i2v", input: { img_url: "x" } }))).json(),
    ).toMatchObject({
      code: "InvalidParameter",
      message: "Model not exist.",
    });
    const unreadable = await submit(
      submitBody(`data:image/png;base64,${Buffer.from("hi").toString("base64")}`),
    );
    expect(unreadable.status).toBe(400);
    expect(unreadable.json().code).toBe("InvalidParameter.DataInspection");
  });

  it("in fail-task mode, renders a valid request as usual", async () => {
    const client = clientOf(failing);
    const started = await client.start(input());
    expect(await finalStatus(client, started.taskId)).toMatchObject({ status: "succeeded" });
  });
});
