import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import {
  call,
  dataUri,
  makeImage,
  submitBody,
  submitHeaders,
  submitPath,
  waitForTask,
} from "./sandbox-test-helpers.ts";

const DASHSCOPE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** `YYYY-MM-DD HH:mm:ss.SSS` in UTC+8 → epoch ms. */
const fromDashscopeTime = (text: string) => Date.parse(`${text.replace(" ", "T")}+08:00`);

describe("sandbox submit, status and list", () => {
  let sandbox: SandboxHandle;
  let clockOffsetMs = 0;
  let image: Buffer;
  let imageServer: Server;
  let imageServerUrl: string;

  beforeAll(async () => {
    image = await makeImage(480, 270);
    imageServer = createServer((request, response) => {
      if (request.url === "/image.png") {
        response.writeHead(200, { "content-type": "image/png" });
        response.end(image);
      } else if (request.url === "/text") {
        response.end("not an image");
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => imageServer.listen(0, "127.0.0.1", resolve));
    imageServerUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}`;
    sandbox = await startSandbox({
      timings: { pendingMs: 400, renderMs: 400 },
      submitsPerSecond: 100,
      concurrencyLimit: 100,
      // These tests query in quick bursts; the 20 QPS limit has its own suite (sandbox-limits.test.ts).
      taskQueriesPerSecond: 1000,
      now: () => Date.now() + clockOffsetMs,
      allowImageHosts: [new URL(imageServerUrl).host],
    });
  });

  afterAll(async () => {
    await sandbox?.close();
    await new Promise((resolve) => imageServer?.close(resolve));
  });

  const submit = (body: string, headers: Record<string, string> = submitHeaders(sandbox.apiKey)) =>
    call(`${sandbox.baseUrl}${submitPath}`, { method: "POST", headers, body });

  it("refuses a non-loopback address to listen on, and an allowImageHosts entry that is not host[:port]", async () => {
    await expect(startSandbox({ host: "0.0.0.0" })).rejects.toThrow(/loopback/);
    await expect(startSandbox({ allowImageHosts: ["http://example.com/"] })).rejects.toThrow(
      /host or host:port; got "http:\/\/example.com\/"/,
    );
  });

  it("answers 401 without or with a wrong API key", async () => {
    const missing = await submit(submitBody(dataUri(image)), { "x-dashscope-async": "enable" });
    expect(missing.status).toBe(401);
    expect(missing.json()).toMatchObject({ code: "InvalidApiKey", message: "No API-key provided." });
    expect(missing.json().request_id).toMatch(UUID);
    const wrong = await submit(submitBody(dataUri(image)), submitHeaders("sk-wrong"));
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toMatchObject({ code: "InvalidApiKey", message: "Invalid API-key provided." });
    const status = await call(`${sandbox.baseUrl}/tasks/abc`, {
      headers: { authorization: "Bearer sk-wrong" },
    });
    expect(status.status).toBe(401);
  });

  it("answers 403 AccessDenied without X-DashScope-Async: enable", async () => {
    for (const value of [undefined, "disable"]) {
      const headers: Record<string, string> = { authorization: `Bearer ${sandbox.apiKey}` };
      if (value) headers["x-dashscope-async"] = value;
      const response = await submit(submitBody(dataUri(image)), headers);
      expect(response.status).toBe(403);
      expect(response.json()).toMatchObject({
        code: "AccessDenied",
        message: "current user api does not support synchronous calls.",
      });
    }
  });

  it.each([
    ["{not json", "BadRequest.IllegalInput", undefined],
    [JSON.stringify({ input: { img_url: "x" } }), "BadRequest.EmptyModel", undefined],
    [
      JSON.stringify({ model: "wan2.6-i2v", input: { img_url: "x" } }),
      "InvalidParameter",
      "Model not exist.",
    ],
    [JSON.stringify({ model: "wan2.6-i2v-flash" }), "BadRequest.EmptyInput", undefined],
    [
      JSON.stringify({ model: "wan2.6-i2v-flash", input: { prompt: "p" } }),
      "InvalidParameter",
      "Field required: input.img_url",
    ],
    [submitBody("data:,", { resolution: "480P" }), "InvalidParameter", /parameters\.resolution/],
    [submitBody("data:,", { resolution: "720p" }), "InvalidParameter", /parameters\.resolution/],
    [submitBody("data:,", { duration: 1 }), "InvalidParameter", /parameters\.duration/],
    [submitBody("data:,", { duration: 16 }), "InvalidParameter", /parameters\.duration/],
    [submitBody("data:,", { duration: 2.5 }), "InvalidParameter", /parameters\.duration/],
    [submitBody("data:,", { seed: -1 }), "InvalidParameter", /parameters\.seed/],
    [submitBody("data:,", { seed: 2_147_483_648 }), "InvalidParameter", /parameters\.seed/],
    [submitBody("data:,", { shot_type: "triple" }), "InvalidParameter", /parameters\.shot_type/],
    [submitBody("data:,", { audio: "yes" }), "InvalidParameter", /parameters\.audio/],
  ])("rejects body %s with 400 %s", async (body, code, message) => {
    const response = await submit(body);
    expect(response.status).toBe(400);
    expect(response.json().code).toBe(code);
    if (typeof message === "string") expect(response.json().message).toBe(message);
    else if (message) expect(response.json().message).toMatch(message);
    expect(response.headers["x-request-id"]).toBe(response.json().request_id);
  });

  it.each([
    [
      "oss:// without the resolve header",
      "oss://dashscope-instant/abc/2026-01-01/x/cat.png",
      "Unable to download",
    ],
    ["an unknown oss:// object", "oss://dashscope-instant/none.png", "Unable to download"],
    ["a host not in allowImageHosts", "https://example.com/cat.png", "Unable to download"],
    [
      "a data URI of text",
      `data:image/png;base64,${Buffer.from("hello").toString("base64")}`,
      "media format",
    ],
    [
      "a data URI of another type",
      `data:image/gif;base64,${Buffer.from("GIF89a").toString("base64")}`,
      "media format",
    ],
  ])("rejects %s with 400 InvalidParameter.DataInspection", async (_name, imgUrl, message) => {
    const headers = imgUrl.endsWith("none.png")
      ? submitHeaders(sandbox.apiKey, { "x-dashscope-ossresourceresolve": "enable" })
      : submitHeaders(sandbox.apiKey);
    const response = await submit(submitBody(imgUrl), headers);
    expect(response.status).toBe(400);
    expect(response.json().code).toBe("InvalidParameter.DataInspection");
    expect(response.json().message).toContain(message);
  });

  it("rejects an image outside 240..8000 px and a fetched non-image", async () => {
    const small = await submit(submitBody(dataUri(await makeImage(300, 200))));
    expect(small.status).toBe(400);
    expect(small.json().code).toBe("InvalidParameter");
    const text = await submit(submitBody(`${imageServerUrl}/text`));
    expect(text.json().code).toBe("InvalidParameter.DataInspection");
    const missing = await submit(submitBody(`${imageServerUrl}/missing.png`));
    expect(missing.json().message).toContain("Unable to download");
  });

  it("accepts a data URI, applies the API defaults, truncates prompts and ignores unknown input keys", async () => {
    const prompt = "p".repeat(1600);
    const body = JSON.stringify({
      model: "wan2.6-i2v-flash",
      input: {
        img_url: dataUri(image),
        prompt,
        negative_prompt: "n".repeat(600),
        extend_prompt: true,
        function: "video-synthesis",
      },
      parameters: { duration: 2, audio: false, fps: 24 },
    });
    const response = await submit(body);
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    const json = response.json();
    expect(json).toEqual({
      request_id: expect.stringMatching(UUID),
      output: { task_id: expect.stringMatching(UUID), task_status: "PENDING" },
    });
    expect(response.headers["x-request-id"]).toBe(json.request_id);
    expect(response.headers["retry-after"]).toBeUndefined();
    const task = sandbox.tasks().find((candidate) => candidate.taskId === json.output.task_id);
    expect(task).toMatchObject({
      resolution: "1080P",
      duration: 2,
      audio: false,
      promptExtend: true,
      shotType: "single",
      watermark: false,
      prompt: "p".repeat(1500),
      negativePrompt: "n".repeat(500),
      sentParameters: { duration: 2, audio: false, fps: 24 },
      image: { source: "data", format: "png", width: 480, height: 270 },
      // The documented rule floors each side to a multiple of 16: 1080 → 1072.
      output: { width: 1920, height: 1072 },
    });
    expect(task?.sentInputKeys).toContain("extend_prompt");
    expect(task?.seed).toBeGreaterThanOrEqual(0);
    const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, json.output.task_id);
    expect(finished.output.orig_prompt).toBe("p".repeat(1500));
    expect(finished.usage).toEqual({
      duration: 2,
      input_video_duration: 0,
      output_video_duration: 2,
      video_count: 1,
      SR: 1080,
      audio: false,
    });
  });

  it("accepts a prompt of null and an image from a loopback http URL", async () => {
    const response = await submit(submitBody(`${imageServerUrl}/image.png`, {}, { prompt: null }));
    expect(response.status).toBe(200);
    const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, response.json().output.task_id);
    expect(finished.output.task_status).toBe("SUCCEEDED");
    expect(finished.output).not.toHaveProperty("orig_prompt");
    expect(sandbox.tasks().at(-1)?.image.source).toBe("url");
  });

  it("moves PENDING → RUNNING → SUCCEEDED with the documented shapes and UTC+8 times", async () => {
    const submittedAt = Date.now();
    const response = await submit(submitBody(dataUri(image), { seed: 7 }));
    const taskId = response.json().output.task_id;
    const statusUrl = `${sandbox.baseUrl}/tasks/${taskId}`;
    const headers = { authorization: `Bearer ${sandbox.apiKey}` };

    const pending = await call(statusUrl, { headers });
    expect(pending.status).toBe(200);
    expect(pending.headers["content-type"]).toBe("application/json;charset=UTF-8");
    const pendingOutput = pending.json().output;
    expect(pendingOutput).toEqual({
      task_id: taskId,
      task_status: "PENDING",
      submit_time: expect.any(String),
    });
    expect(pendingOutput.submit_time).toMatch(DASHSCOPE_TIME);
    expect(Math.abs(fromDashscopeTime(pendingOutput.submit_time) - submittedAt)).toBeLessThan(2000);

    await new Promise((resolve) => setTimeout(resolve, 550));
    const running = (await call(statusUrl, { headers })).json();
    expect(running.output.task_status).toBe("RUNNING");
    expect(running.output.scheduled_time).toMatch(DASHSCOPE_TIME);
    expect(running).not.toHaveProperty("usage");

    const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, taskId);
    const elapsed = Date.now() - submittedAt;
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(finished.output).toEqual({
      task_id: taskId,
      task_status: "SUCCEEDED",
      submit_time: pendingOutput.submit_time,
      scheduled_time: running.output.scheduled_time,
      end_time: expect.stringMatching(DASHSCOPE_TIME),
      orig_prompt: "a slow push-in",
      video_url: expect.stringContaining(`${sandbox.url}/results/${taskId}.mp4?Expires=`),
    });
    expect(finished.usage).toMatchObject({ SR: 720, audio: false, video_count: 1 });
    const videoUrl = new URL(finished.output.video_url);
    const endMs = fromDashscopeTime(finished.output.end_time);
    expect(Number(videoUrl.searchParams.get("Expires"))).toBe(Math.floor((endMs + 86_400_000) / 1000));
    expect(videoUrl.searchParams.get("OSSAccessKeyId")).toBeTruthy();
    expect(videoUrl.searchParams.get("Signature")).toBeTruthy();
  });

  it("reports UNKNOWN for an unknown id, and for a task 24 h after it ended (not after it was created)", async () => {
    const headers = { authorization: `Bearer ${sandbox.apiKey}` };
    const unknown = await call(`${sandbox.baseUrl}/tasks/no-such-task`, { headers });
    expect(unknown.status).toBe(200);
    expect(unknown.json().output).toEqual({ task_id: "no-such-task", task_status: "UNKNOWN" });

    const taskId = (await submit(submitBody(dataUri(image)))).json().output.task_id;
    expect((await waitForTask(sandbox.baseUrl, sandbox.apiKey, taskId)).output.task_status).toBe("SUCCEEDED");
    const inFlightId = (await submit(submitBody(dataUri(image)))).json().output.task_id;
    const ended = sandbox.tasks().find((task) => task.taskId === taskId);
    if (ended?.endTime === undefined) throw new Error("the task has no end time");
    const statusOf = async (id: string) =>
      (await call(`${sandbox.baseUrl}/tasks/${id}`, { headers })).json().output;
    try {
      // More than 24 h after its creation but less than 24 h after its end: still kept.
      clockOffsetMs = ended.submitTime + DAY_MS + (ended.endTime - ended.submitTime) / 2 - Date.now();
      expect((await statusOf(taskId)).task_status).toBe("SUCCEEDED");
      clockOffsetMs = ended.endTime + DAY_MS - Date.now();
      expect(await statusOf(taskId)).toEqual({ task_id: taskId, task_status: "UNKNOWN" });
      const list = (await call(`${sandbox.baseUrl}/tasks/`, { headers })).json();
      expect(list.data.map((entry: { task_id: string }) => entry.task_id)).not.toContain(taskId);
      const cancel = await call(`${sandbox.baseUrl}/tasks/${taskId}/cancel`, { method: "POST", headers });
      expect(cancel.status).toBe(400);
      // A task still in flight keeps its record, however old (the service's own 3 h limit is not emulated).
      expect((await statusOf(inFlightId)).task_status).toMatch(/^(PENDING|RUNNING)$/);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("applies shot_type only with prompt_extend (the API default is true), and validates it either way", async () => {
    const withoutExtend = (
      await submit(submitBody(dataUri(image), { prompt_extend: false, shot_type: "multi" }))
    ).json().output.task_id;
    const withExtend = (
      await submit(submitBody(dataUri(image), { prompt_extend: true, shot_type: "multi" }))
    ).json().output.task_id;
    const byDefault = (await submit(submitBody(dataUri(image), { shot_type: "multi" }))).json().output
      .task_id;
    const summary = (id: string) => sandbox.tasks().find((task) => task.taskId === id);
    expect(summary(withoutExtend)).toMatchObject({
      promptExtend: false,
      shotType: null,
      sentParameters: { prompt_extend: false, shot_type: "multi" },
    });
    expect(summary(withExtend)).toMatchObject({ promptExtend: true, shotType: "multi" });
    expect(summary(byDefault)).toMatchObject({ promptExtend: true, shotType: "multi" });
    // Still validated when it has no effect.
    const invalid = await submit(submitBody(dataUri(image), { prompt_extend: false, shot_type: "triple" }));
    expect(invalid.json()).toMatchObject({ code: "InvalidParameter" });
    for (const id of [withoutExtend, withExtend, byDefault]) {
      expect((await waitForTask(sandbox.baseUrl, sandbox.apiKey, id)).output.task_status).toBe("SUCCEEDED");
    }
  });

  it("lists tasks with the documented shape and filters", async () => {
    const headers = { authorization: `Bearer ${sandbox.apiKey}` };
    const taskId = (await submit(submitBody(dataUri(image)))).json().output.task_id;
    const list = await call(`${sandbox.baseUrl}/tasks/?model_name=wan2.6-i2v-flash&page_size=100`, {
      headers,
    });
    expect(list.status).toBe(200);
    const body = list.json();
    expect(body).toMatchObject({ request_id: expect.stringMatching(UUID), page_no: 1, page_size: 100 });
    expect(body.total).toBe(body.data.length);
    expect(body.total_page).toBe(1);
    const entry = body.data.find((candidate: { task_id: string }) => candidate.task_id === taskId);
    expect(entry).toMatchObject({
      status: "PENDING",
      model_name: "wan2.6-i2v-flash",
      region: "cn-beijing",
      gmt_create: expect.any(Number),
      user_api_unique_key: "apikey:v1:aigc:video-generation:video-synthesis:wan2.6-i2v-flash",
    });
    expect(body.data[0].gmt_create).toBeGreaterThanOrEqual(body.data.at(-1).gmt_create);

    const compact = (epochMs: number) =>
      new Date(epochMs + 8 * 3600_000).toISOString().replace(/[-:T]/g, "").slice(0, 14);
    const windowQuery = `start_time=${compact(Date.now() - 60_000)}&end_time=${compact(Date.now())}`;
    const inWindow = (
      await call(`${sandbox.baseUrl}/tasks?${windowQuery}&status=PENDING`, { headers })
    ).json();
    expect(inWindow.data.map((candidate: { task_id: string }) => candidate.task_id)).toContain(taskId);
    const past = `start_time=${compact(Date.now() - 7200_000)}&end_time=${compact(Date.now() - 3600_000)}`;
    expect((await call(`${sandbox.baseUrl}/tasks?${past}`, { headers })).json().total).toBe(0);
    const otherModel = (await call(`${sandbox.baseUrl}/tasks?model_name=wan2.6-i2v`, { headers })).json();
    expect(otherModel.total).toBe(0);
    const paged = (await call(`${sandbox.baseUrl}/tasks?page_size=1&page_no=2`, { headers })).json();
    expect(paged.data).toHaveLength(1);
    expect(paged.total_page).toBe(paged.total);

    const tooWide = `start_time=${compact(Date.now() - 2 * 86_400_000)}&end_time=${compact(Date.now())}`;
    expect((await call(`${sandbox.baseUrl}/tasks?${tooWide}`, { headers })).status).toBe(400);
    expect((await call(`${sandbox.baseUrl}/tasks?start_time=yesterday`, { headers })).status).toBe(400);
  });

  it("filters the list by task_id and by every documented status, UNKNOWN included", async () => {
    const headers = { authorization: `Bearer ${sandbox.apiKey}` };
    const list = async (query: string) =>
      (await call(`${sandbox.baseUrl}/tasks/?${query}`, { headers })).json();
    const first = (await submit(submitBody(dataUri(image)))).json().output.task_id;
    const second = (await submit(submitBody(dataUri(image)))).json().output.task_id;
    expect((await list(`task_id=${first}`)).data.map((row: { task_id: string }) => row.task_id)).toEqual([
      first,
    ]);
    expect((await list("task_id=no-such-task")).total).toBe(0);

    const canceled = await call(`${sandbox.baseUrl}/tasks/${second}/cancel`, { method: "POST", headers });
    expect(canceled.status).toBe(200);
    const byStatus = await list(`status=CANCELED&task_id=${second}`);
    expect(byStatus.data).toEqual([expect.objectContaining({ task_id: second, status: "CANCELED" })]);
    expect((await list(`status=PENDING&task_id=${second}`)).total).toBe(0);
    const allRows = (await list("page_size=100")).data as Array<{ status: string }>;
    for (const status of ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"]) {
      const rows = (await list(`status=${status}&page_size=100`)).data as Array<{ status: string }>;
      expect(rows.every((row) => row.status === status)).toBe(true);
      expect(rows.length).toBe(allRows.filter((row) => row.status === status).length);
    }
    // A record past its retention is gone, so UNKNOWN is accepted and matches none of the kept tasks.
    const unknownRows = await list("status=UNKNOWN");
    expect(unknownRows).toMatchObject({ total: 0, data: [] });
    const invalid = await call(`${sandbox.baseUrl}/tasks/?status=DONE`, { headers });
    expect(invalid.status).toBe(400);
    expect(invalid.json().message).toContain("status");
    expect((await call(`${sandbox.baseUrl}/tasks/?page_size=101`, { headers })).status).toBe(400);
  });
});

describe("sandbox cancel and limits", () => {
  let sandbox: SandboxHandle;
  let image: Buffer;

  beforeAll(async () => {
    // Long PENDING so tasks stay in flight for the whole test.
    sandbox = await startSandbox({
      timings: { pendingMs: 20_000, renderMs: 100 },
      concurrencyLimit: 2,
      submitsPerSecond: 3,
    });
    image = await makeImage(320, 240);
  });
  afterAll(async () => sandbox?.close());

  const submit = () =>
    call(`${sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(sandbox.apiKey),
      body: submitBody(dataUri(image)),
    });
  const cancel = (taskId: string) =>
    call(`${sandbox.baseUrl}/tasks/${taskId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${sandbox.apiKey}` },
    });
  const expectThrottled = (response: Awaited<ReturnType<typeof call>>) => {
    expect(response.status).toBe(429);
    expect(response.json()).toMatchObject({
      code: "Throttling.RateQuota",
      message: "Requests rate limit exceeded, please try again later.",
    });
    expect(response.headers["retry-after"]).toBeUndefined();
  };

  it("enforces the concurrency limit, frees a place on cancel, and cancels only while PENDING", async () => {
    const first = (await submit()).json().output.task_id;
    const second = (await submit()).json().output.task_id;
    expectThrottled(await submit());
    expect(sandbox.stats()).toMatchObject({ inFlight: 2, peakInFlight: 2, submitsThrottled: 1 });

    const canceled = await cancel(first);
    expect(canceled.status).toBe(200);
    expect(Object.keys(canceled.json())).toEqual(["request_id"]);
    const status = (
      await call(`${sandbox.baseUrl}/tasks/${first}`, {
        headers: { authorization: `Bearer ${sandbox.apiKey}` },
      })
    ).json();
    expect(status.output).toEqual({
      task_id: first,
      task_status: "CANCELED",
      submit_time: expect.any(String),
    });

    const again = await cancel(first);
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({
      code: "UnsupportedOperation",
      message: "Failed to cancel the task, please confirm if the task is in PENDING status.",
    });
    expect((await cancel("no-such-task")).json().code).toBe("UnsupportedOperation");

    await new Promise((resolve) => setTimeout(resolve, 1050)); // leave the 1 s submit window
    const third = await submit();
    expect(third.status).toBe(200);
    expect(sandbox.stats()).toMatchObject({ inFlight: 2, cancels: 1, tasksCreated: 3 });
    await cancel(second);
    await cancel(third.json().output.task_id);
    expect(sandbox.stats().inFlight).toBe(0);
  });

  it("allows submitsPerSecond submits in a sliding second, then answers 429", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const unauthorized = await call(`${sandbox.baseUrl}${submitPath}`, { method: "POST", body: "{}" });
    expect(unauthorized.status).toBe(401); // refused before the limit counts it
    const statuses: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      const response = await call(`${sandbox.baseUrl}${submitPath}`, {
        method: "POST",
        headers: submitHeaders(sandbox.apiKey),
        body: "{}", // counted, then rejected by validation: the window limits requests, not tasks
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([400, 400, 400]);
    expectThrottled(await submit());
    await new Promise((resolve) => setTimeout(resolve, 1050));
    expect(
      (
        await call(`${sandbox.baseUrl}${submitPath}`, {
          method: "POST",
          headers: submitHeaders(sandbox.apiKey),
          body: "{}",
        })
      ).status,
    ).toBe(400);
  });

  it("does not cancel a RUNNING task", async () => {
    const running = await startSandbox({ timings: { pendingMs: 50, renderMs: 10_000 } });
    try {
      const response = await call(`${running.baseUrl}${submitPath}`, {
        method: "POST",
        headers: submitHeaders(running.apiKey),
        body: submitBody(dataUri(image)),
      });
      const taskId = response.json().output.task_id;
      await new Promise((resolve) => setTimeout(resolve, 200));
      const canceled = await call(`${running.baseUrl}/tasks/${taskId}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${running.apiKey}` },
      });
      expect(canceled.status).toBe(400);
      expect(canceled.json().code).toBe("UnsupportedOperation");
      expect(running.tasks()[0]?.status).toBe("RUNNING");
    } finally {
      await running.close();
    }
  });
});
