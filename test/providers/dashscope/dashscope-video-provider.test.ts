import { readFileSync } from "node:fs";
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../../src/errors/provider-error.ts";
import {
  createDashscopeVideoProvider,
  type DashscopeVideoProvider,
  toUtcIso,
} from "../../../src/providers/dashscope/index.ts";
import type { ProviderStartInput } from "../../../src/providers/provider.ts";

const ORIGIN = "https://dashscope.aliyuncs.com";
const BASE_URL = `${ORIGIN}/api/v1`;
const API_KEY = "sk-test-0123456789abcdef";
const SUBMIT_PATH = "/api/v1/services/aigc/video-generation/video-synthesis";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/dashscope/${name}.json`, import.meta.url), "utf8"));

interface CapturedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

let agent: MockAgent;
let provider: DashscopeVideoProvider;
let captured: CapturedRequest[];

/** Answers one request on `path` and records what was sent. */
function answer(
  method: string,
  path: string | RegExp,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  agent
    .get(ORIGIN)
    .intercept({ method, path })
    .reply((options) => {
      captured.push({
        method: options.method,
        path: options.path,
        headers: { ...(options.headers as Record<string, string> | undefined) },
        body: options.body,
      });
      return {
        statusCode,
        data: typeof body === "string" ? body : JSON.stringify(body),
        responseOptions: { headers: { "content-type": "application/json", ...headers } },
      };
    });
}

const baseInput: ProviderStartInput = {
  prompt: "A turtle swims slowly upward",
  resolution: "720P",
  duration: 5,
  seed: 42,
  audio: false,
  image: { kind: "url", url: "https://images.example.com/turtle.png" },
};

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  captured = [];
  provider = createDashscopeVideoProvider({ apiKey: API_KEY, baseUrl: `${BASE_URL}/`, dispatcher: agent });
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

describe("start", () => {
  it("sends only the documented fields, with resolution, duration, seed and audio always explicit", async () => {
    answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    const result = await provider.start(baseInput);

    expect(result).toStrictEqual({
      taskId: "0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10",
      requestId: "4909100c-7b5a-9f92-bfe5-0c2a11b4c9e1",
    });
    const [sent] = captured;
    expect(JSON.parse(String(sent?.body))).toStrictEqual({
      model: "wan2.6-i2v-flash",
      input: { img_url: "https://images.example.com/turtle.png", prompt: "A turtle swims slowly upward" },
      parameters: { resolution: "720P", duration: 5, seed: 42, audio: false },
    });
    expect(sent?.headers).toStrictEqual({
      Authorization: `Bearer ${API_KEY}`,
      "Content-Type": "application/json",
      "X-DashScope-Async": "enable",
    });
  });

  it("maps every optional field to its API name", async () => {
    answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    await provider.start({
      ...baseInput,
      negativePrompt: "blurry",
      audioUrl: "https://audio.example.com/waves.mp3",
      resolution: "1080P",
      duration: 15,
      seed: 0,
      audio: true,
      promptExtend: true,
      shotType: "multi",
      watermark: true,
    });
    expect(JSON.parse(String(captured[0]?.body))).toStrictEqual({
      model: "wan2.6-i2v-flash",
      input: {
        img_url: "https://images.example.com/turtle.png",
        prompt: "A turtle swims slowly upward",
        negative_prompt: "blurry",
        audio_url: "https://audio.example.com/waves.mp3",
      },
      parameters: {
        resolution: "1080P",
        duration: 15,
        seed: 0,
        audio: true,
        prompt_extend: true,
        shot_type: "multi",
        watermark: true,
      },
    });
    expect(captured[0]?.headers).not.toHaveProperty("X-DashScope-OssResourceResolve");
  });

  it("sends shot_type only with prompt_extend true: the model ignores it otherwise", async () => {
    for (let index = 0; index < 3; index += 1) answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    await provider.start({ ...baseInput, promptExtend: false, shotType: "multi" });
    await provider.start({ ...baseInput, shotType: "multi" });
    await provider.start({ ...baseInput, promptExtend: true, shotType: "single" });
    const parameters = captured.map((request) => JSON.parse(String(request.body)).parameters);
    expect(parameters[0]).toStrictEqual({
      resolution: "720P",
      duration: 5,
      seed: 42,
      audio: false,
      prompt_extend: false,
    });
    expect(parameters[1]).not.toHaveProperty("shot_type");
    expect(parameters[2]).toMatchObject({ prompt_extend: true, shot_type: "single" });
  });

  it("never sends fps, size or motion_strength even if they leak into the input", async () => {
    answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    const leaky = { ...baseInput, fps: 24, size: "1280*720", motion_strength: 0.5 } as ProviderStartInput;
    await provider.start(leaky);
    const body = JSON.parse(String(captured[0]?.body));
    expect(Object.keys(body.parameters).sort()).toStrictEqual(["audio", "duration", "resolution", "seed"]);
    expect(Object.keys(body.input).sort()).toStrictEqual(["img_url", "prompt"]);
  });

  it("sets the OSS resolve header for an oss:// image and for an oss:// audio URL only", async () => {
    answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    answer("POST", SUBMIT_PATH, 200, fixture("submit"));
    await provider.start({
      ...baseInput,
      image: { kind: "url", url: "oss://dashscope-instant/a/b/cat.png" },
    });
    await provider.start({ ...baseInput, audioUrl: "oss://dashscope-instant/a/b/sound.mp3" });
    await provider.start({ ...baseInput, image: { kind: "url", url: "data:image/png;base64,iVBORw0KGgo=" } });

    expect(captured[0]?.headers["X-DashScope-OssResourceResolve"]).toBe("enable");
    expect(JSON.parse(String(captured[0]?.body)).input.img_url).toBe("oss://dashscope-instant/a/b/cat.png");
    expect(captured[1]?.headers["X-DashScope-OssResourceResolve"]).toBe("enable");
    expect(captured[2]?.headers).not.toHaveProperty("X-DashScope-OssResourceResolve");
    expect(JSON.parse(String(captured[2]?.body)).input.img_url).toBe("data:image/png;base64,iVBORw0KGgo=");
  });

  it("resolves a lazy API key on every call", async () => {
    const keys = ["sk-first-key-000", "sk-second-key-111"];
    const lazy = createDashscopeVideoProvider({
      apiKey: async () => keys.shift() ?? "sk-none",
      baseUrl: BASE_URL,
      dispatcher: agent,
    });
    answer("GET", "/api/v1/tasks/t1", 200, fixture("task-pending"));
    answer("GET", "/api/v1/tasks/t1", 200, fixture("task-pending"));
    await lazy.status("t1");
    await lazy.status("t1");
    expect(captured.map((request) => request.headers.Authorization)).toStrictEqual([
      "Bearer sk-first-key-000",
      "Bearer sk-second-key-111",
    ]);
  });

  it("treats a 2xx submit body it cannot read as ambiguous: the task may exist", async () => {
    answer("POST", SUBMIT_PATH, 200, { request_id: "r1", output: { task_status: "PENDING" } });
    answer("POST", SUBMIT_PATH, 200, "<html>gateway</html>");
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await provider.start(baseInput).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ kind: "ambiguous_submit", retryable: true, operation: "submit" });
    }
  });
});

describe("status", () => {
  it("maps PENDING and RUNNING with their times in UTC", async () => {
    answer("GET", "/api/v1/tasks/c2145ead-f262-44c3-8b4e-7ff711cc8f37", 200, fixture("task-pending"));
    answer("GET", "/api/v1/tasks/c2145ead-f262-44c3-8b4e-7ff711cc8f37", 200, fixture("task-running"));
    expect(await provider.status("c2145ead-f262-44c3-8b4e-7ff711cc8f37")).toStrictEqual({
      status: "pending",
      taskId: "c2145ead-f262-44c3-8b4e-7ff711cc8f37",
      providerStatus: "PENDING",
      submittedAt: "2026-01-22T15:24:46.527Z",
    });
    expect(await provider.status("c2145ead-f262-44c3-8b4e-7ff711cc8f37")).toStrictEqual({
      status: "running",
      taskId: "c2145ead-f262-44c3-8b4e-7ff711cc8f37",
      providerStatus: "RUNNING",
      submittedAt: "2026-01-22T15:24:46.527Z",
      scheduledAt: "2026-01-22T15:24:46.565Z",
    });
    expect(captured[0]?.headers).toStrictEqual({ Authorization: `Bearer ${API_KEY}` });
  });

  it("maps SUCCEEDED with the video URL and normalized usage, keeping the raw usage", async () => {
    const body = fixture("task-succeeded");
    answer("GET", "/api/v1/tasks/c15d5b14-07c4-4af5-b862-9a4e1d2c7b30", 200, body);
    expect(await provider.status("c15d5b14-07c4-4af5-b862-9a4e1d2c7b30")).toStrictEqual({
      status: "succeeded",
      taskId: "c15d5b14-07c4-4af5-b862-9a4e1d2c7b30",
      videoUrl: (body.output as { video_url: string }).video_url,
      usage: {
        duration: 10,
        outputVideoDuration: 10,
        videoCount: 1,
        resolutionTier: 720,
        audio: true,
        raw: body.usage,
      },
      submittedAt: "2026-01-22T15:24:46.527Z",
      scheduledAt: "2026-01-22T15:24:46.565Z",
      endedAt: "2026-01-22T15:25:59.978Z",
    });
  });

  it("parses leniently: floats, numeric strings, unknown keys, missing times, null prompt", async () => {
    const usage = {
      duration: 10.0,
      output_video_duration: "10",
      video_count: 1.0,
      SR: "720",
      audio: "false",
      fps: 30,
      ratio: "3368:3409",
    };
    answer("GET", "/api/v1/tasks/t2", 200, {
      request_id: "r2",
      output: {
        task_id: "t2",
        task_status: "SUCCEEDED",
        orig_prompt: null,
        prompt: null,
        actual_prompt: null,
        task_metrics: { TOTAL: 1, SUCCEEDED: 1, FAILED: 0 },
        video_url: "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/v.mp4?Expires=1&Signature=x",
      },
      usage,
      extra_top_level: { anything: true },
    });
    const status = await provider.status("t2");
    expect(status).toStrictEqual({
      status: "succeeded",
      taskId: "t2",
      videoUrl: "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/v.mp4?Expires=1&Signature=x",
      usage: {
        duration: 10,
        outputVideoDuration: 10,
        videoCount: 1,
        resolutionTier: 720,
        audio: false,
        raw: usage,
      },
    });
  });

  it("keeps the video when a usage field has an unexpected type, and reports no usage when absent", async () => {
    answer("GET", "/api/v1/tasks/t3", 200, {
      output: { task_id: "t3", task_status: "SUCCEEDED", video_url: "https://x.example.com/v.mp4" },
      usage: { duration: "ten", SR: 1080 },
    });
    answer("GET", "/api/v1/tasks/t3", 200, {
      output: { task_id: "t3", task_status: "SUCCEEDED", video_url: "https://x.example.com/v.mp4" },
    });
    const first = await provider.status("t3");
    expect(first).toMatchObject({
      status: "succeeded",
      usage: { resolutionTier: 1080, raw: { duration: "ten", SR: 1080 } },
    });
    expect(first.status === "succeeded" && first.usage).not.toHaveProperty("duration");
    expect(await provider.status("t3")).toMatchObject({ status: "succeeded", usage: null });
  });

  it("reports SUCCEEDED without a video URL as failed with missing_video_url", async () => {
    answer("GET", "/api/v1/tasks/t4", 200, { output: { task_id: "t4", task_status: "SUCCEEDED" } });
    expect(await provider.status("t4")).toMatchObject({
      status: "failed",
      taskId: "t4",
      code: "missing_video_url",
    });
  });

  it("maps FAILED with the provider's code and message, or UnknownFailure when it gave none", async () => {
    answer("GET", "/api/v1/tasks/86ecf553-d340-4e21-af6e-a0c6a421c010", 200, fixture("task-failed"));
    answer("GET", "/api/v1/tasks/t5", 200, { output: { task_id: "t5", task_status: "FAILED" } });
    expect(await provider.status("86ecf553-d340-4e21-af6e-a0c6a421c010")).toStrictEqual({
      status: "failed",
      taskId: "86ecf553-d340-4e21-af6e-a0c6a421c010",
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
      submittedAt: "2026-01-22T15:24:46.527Z",
      scheduledAt: "2026-01-22T15:24:46.565Z",
      endedAt: "2026-01-22T15:25:10.100Z",
    });
    const failed = await provider.status("t5");
    expect(failed).toMatchObject({ status: "failed", code: "UnknownFailure" });
    expect(failed.status === "failed" && failed.message).toMatch(/gave no reason/);
  });

  it("maps CANCELED and UNKNOWN", async () => {
    answer("GET", "/api/v1/tasks/0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10", 200, fixture("task-canceled"));
    answer("GET", "/api/v1/tasks/502a00b1-19d9-4839-a82f-2b7c1d0e8f55", 200, fixture("task-unknown"));
    expect(await provider.status("0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10")).toStrictEqual({
      status: "canceled",
      taskId: "0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10",
      submittedAt: "2026-01-22T15:24:46.527Z",
    });
    expect(await provider.status("502a00b1-19d9-4839-a82f-2b7c1d0e8f55")).toStrictEqual({
      status: "unknown",
      taskId: "502a00b1-19d9-4839-a82f-2b7c1d0e8f55",
    });
  });

  it("keeps SUSPENDED and unrecognized statuses non-terminal, with the raw status", async () => {
    answer("GET", "/api/v1/tasks/t6", 200, { output: { task_id: "t6", task_status: "SUSPENDED" } });
    answer("GET", "/api/v1/tasks/t6", 200, { output: { task_id: "t6", task_status: "QUEUED_SOMEWHERE" } });
    expect(await provider.status("t6")).toStrictEqual({
      status: "pending",
      taskId: "t6",
      providerStatus: "SUSPENDED",
    });
    expect(await provider.status("t6")).toStrictEqual({
      status: "pending",
      taskId: "t6",
      providerStatus: "QUEUED_SOMEWHERE",
    });
  });

  it("escapes the task id in the path and falls back to it when the body has none", async () => {
    answer("GET", "/api/v1/tasks/a%2Fb", 200, { output: { task_status: "RUNNING" } });
    expect(await provider.status("a/b")).toStrictEqual({
      status: "running",
      taskId: "a/b",
      providerStatus: "RUNNING",
    });
  });

  it("reports a 2xx status body without output as invalid_response, not retried", async () => {
    answer("GET", "/api/v1/tasks/t7", 200, { request_id: "r7" });
    const error = await provider.status("t7").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: "invalid_response", retryable: false, operation: "status" });
  });

  it("converts times with the configured provider offset", async () => {
    const utcProvider = createDashscopeVideoProvider({
      apiKey: API_KEY,
      baseUrl: BASE_URL,
      dispatcher: agent,
      providerUtcOffsetMinutes: 0,
    });
    answer("GET", "/api/v1/tasks/t8", 200, {
      output: {
        task_id: "t8",
        task_status: "RUNNING",
        submit_time: "2026-01-22 23:24:46",
        scheduled_time: "bogus",
      },
    });
    expect(await utcProvider.status("t8")).toStrictEqual({
      status: "running",
      taskId: "t8",
      providerStatus: "RUNNING",
      submittedAt: "2026-01-22T23:24:46.000Z",
    });
  });
});

describe("cancel", () => {
  it("posts with no body and no Content-Type", async () => {
    answer("POST", "/api/v1/tasks/0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10/cancel", 200, fixture("cancel"));
    await expect(provider.cancel("0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10")).resolves.toBeUndefined();
    expect(captured[0]?.headers).toStrictEqual({ Authorization: `Bearer ${API_KEY}` });
    expect(captured[0]?.body).toBeFalsy();
  });

  it("maps 400 UnsupportedOperation to a non-retryable rejection", async () => {
    answer("POST", "/api/v1/tasks/t9/cancel", 400, fixture("cancel-unsupported"));
    const error = await provider.cancel("t9").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      kind: "rejected",
      code: "UnsupportedOperation",
      retryable: false,
      httpStatus: 400,
      requestId: "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
    });
    expect((error as Error).message).toBe(
      "DashScope cancel failed: 400 UnsupportedOperation: Failed to cancel the task, please confirm if the task is in PENDING status. (request_id 6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e)",
    );
  });
});

describe("listTasks", () => {
  it("asks for one page of the last 24 h without time filters, and keeps the rows as sent", async () => {
    answer("GET", "/api/v1/tasks/?model_name=wan2.6-i2v-flash&page_no=1&page_size=100", 200, fixture("list"));
    const page = await provider.listTasks({ pageNo: 1, pageSize: 100 });
    expect(page).toStrictEqual({
      pageNo: 1,
      totalPages: 1,
      total: 2,
      tasks: [
        {
          taskId: "0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10",
          status: "RUNNING",
          createdAt: "2026-01-22T15:24:46.527Z",
          model: "wan2.6-i2v-flash",
        },
        {
          taskId: "c15d5b14-07c4-4af5-b862-9a4e1d2c7b30",
          status: "SUCCEEDED",
          createdAt: "2026-01-22T15:23:20.000Z",
          model: "wan2.6-i2v-flash",
        },
      ],
    });
    expect(captured[0]?.path).not.toMatch(/start_time|end_time/);
  });

  it("passes page, status and task_id, and omits page_size when none is asked", async () => {
    answer("GET", "/api/v1/tasks/?model_name=wan2.6-i2v-flash&page_no=3&status=UNKNOWN&task_id=t1", 200, {
      total: 0,
      total_page: 0,
      page_no: 3,
      page_size: 10,
      data: [],
    });
    expect(await provider.listTasks({ pageNo: 3, status: "UNKNOWN", taskId: "t1" })).toStrictEqual({
      tasks: [],
      pageNo: 3,
      totalPages: 0,
      total: 0,
    });
  });

  it("accepts string numbers, derives the page count from total and page_size, and an absent data list", async () => {
    answer("GET", /^\/api\/v1\/tasks\/\?/, 200, {
      total: "25",
      page_size: "10",
      data: [{ task_id: "t10", status: "PENDING", gmt_create: "1769095486527" }],
    });
    answer("GET", /^\/api\/v1\/tasks\/\?/, 200, { request_id: "r" });
    expect(await provider.listTasks({ pageNo: 1 })).toStrictEqual({
      tasks: [{ taskId: "t10", status: "PENDING", createdAt: "2026-01-22T15:24:46.527Z" }],
      pageNo: 1,
      totalPages: 3,
      total: 25,
    });
    expect(await provider.listTasks({ pageNo: 2 })).toStrictEqual({ tasks: [], pageNo: 2 });
  });

  it("refuses a row without gmt_create rather than guess its creation time", async () => {
    answer("GET", /^\/api\/v1\/tasks\/\?/, 200, {
      data: [{ task_id: "t11", status: "RUNNING", start_time: 1769095486527 }],
    });
    const error = await provider.listTasks({ pageNo: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: "invalid_response", operation: "list" });
    expect((error as Error).message).toContain("t11 has no gmt_create");
  });
});

describe("time helpers", () => {
  it("reads provider local time as UTC", () => {
    expect(toUtcIso("2026-01-01 07:59:59.9", 480)).toBe("2025-12-31T23:59:59.900Z");
    expect(toUtcIso(undefined, 480)).toBeUndefined();
    expect(toUtcIso("22/01/2026", 480)).toBeUndefined();
  });
});
