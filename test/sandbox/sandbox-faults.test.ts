import { FormData, fetch, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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

describe("sandbox fault injection", () => {
  let sandbox: SandboxHandle;
  let image: Buffer;
  let videoUrl: string;

  beforeAll(async () => {
    // Limits are tested elsewhere; here tasks of earlier tests still rendering must not make a submit 429.
    sandbox = await startSandbox({
      timings: { pendingMs: 50, renderMs: 50 },
      submitsPerSecond: 100,
      concurrencyLimit: 100,
    });
    image = await makeImage(320, 240);
    const submitted = await submit();
    videoUrl = (await waitForTask(sandbox.baseUrl, sandbox.apiKey, submitted.json().output.task_id)).output
      .video_url;
  });
  afterEach(() => sandbox.faults.clear());
  afterAll(async () => sandbox?.close());

  const authorization = () => ({ authorization: `Bearer ${sandbox.apiKey}` });
  function submit() {
    return call(`${sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(sandbox.apiKey),
      body: submitBody(dataUri(image)),
    });
  }
  /** One request per route, answered normally when no fault applies. */
  const requests = {
    submit,
    status: () => call(`${sandbox.baseUrl}/tasks/some-id`, { headers: authorization() }),
    cancel: () =>
      call(`${sandbox.baseUrl}/tasks/some-id/cancel`, { method: "POST", headers: authorization() }),
    list: () => call(`${sandbox.baseUrl}/tasks/`, { headers: authorization() }),
    policy: () =>
      call(`${sandbox.baseUrl}/uploads?action=getPolicy&model=wan2.6-i2v-flash`, {
        headers: authorization(),
      }),
    upload: () =>
      call(`${sandbox.url}/oss-upload`, { method: "POST", headers: { "content-type": "text/plain" } }),
    download: () => call(videoUrl),
  };
  const normalStatus = {
    submit: 200,
    status: 200,
    cancel: 400,
    list: 200,
    policy: 200,
    upload: 400,
    download: 200,
  };
  const routes = Object.keys(requests) as Array<keyof typeof requests>;

  it.each(routes)(
    "throttle, server-error and unavailable on %s answer once, then the route recovers",
    async (route) => {
      for (const [kind, status] of [
        ["throttle", 429],
        ["server-error", 500],
        ["unavailable", 503],
      ] as const) {
        sandbox.faults.inject({ route, kind });
        const faulted = await requests[route]();
        expect(faulted.status).toBe(status);
        if (route === "upload" || route === "download") expect(faulted.text).toContain("<Error>");
        else
          expect(faulted.json().code).toBe(
            kind === "throttle"
              ? "Throttling.RateQuota"
              : kind === "server-error"
                ? "InternalError"
                : "ModelUnavailable",
          );
        expect((await requests[route]()).status).toBe(normalStatus[route]);
      }
    },
  );

  it.each(routes)("reset on %s destroys the socket without an answer", async (route) => {
    sandbox.faults.inject({ route, kind: "reset" });
    await expect(requests[route]()).rejects.toThrow();
    expect((await requests[route]()).status).toBe(normalStatus[route]);
  });

  it("slow delays the answer by delayMs, and times applies a fault repeatedly", async () => {
    sandbox.faults.inject({ route: "status", kind: "slow", delayMs: 400, times: 2 });
    for (let index = 0; index < 2; index += 1) {
      const started = Date.now();
      expect((await requests.status()).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    }
    const started = Date.now();
    await requests.status();
    expect(Date.now() - started).toBeLessThan(390);
  });

  it("reset-after-create creates the task but the client gets no answer", async () => {
    const before = sandbox.stats().tasksCreated;
    sandbox.faults.inject({ route: "submit", kind: "reset-after-create" });
    await expect(submit()).rejects.toThrow();
    expect(sandbox.stats().tasksCreated).toBe(before + 1);
    const created = sandbox.tasks().at(-1);
    const list = (await requests.list()).json();
    expect(list.data.map((entry: { task_id: string }) => entry.task_id)).toContain(created?.taskId);
  });

  it("reset-midway sends the headers and part of the body, then cuts the connection", async () => {
    sandbox.faults.inject({ route: "download", kind: "reset-midway" });
    const response = await request(videoUrl, { signal: AbortSignal.timeout(10_000) });
    expect(response.statusCode).toBe(200);
    const length = Number(response.headers["content-length"]);
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of response.body) received += (chunk as Buffer).length;
      })(),
    ).rejects.toThrow();
    expect(received).toBeLessThan(length);
    expect((await requests.download()).status).toBe(200);
  });

  it("refuses reset-after-create and reset-midway on other routes", () => {
    expect(() => sandbox.faults.inject({ route: "status", kind: "reset-after-create" })).toThrow();
    expect(() => sandbox.faults.inject({ route: "submit", kind: "reset-midway" })).toThrow();
  });

  it("failNextTasks ends the next tasks FAILED with the given code and message", async () => {
    sandbox.faults.failNextTasks({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
      count: 2,
    });
    const outcomes = [];
    for (let index = 0; index < 3; index += 1) {
      const taskId = (await submit()).json().output.task_id;
      outcomes.push((await waitForTask(sandbox.baseUrl, sandbox.apiKey, taskId)).output);
    }
    expect(outcomes.map((output) => output.task_status)).toEqual(["FAILED", "FAILED", "SUCCEEDED"]);
    expect(outcomes[0]).toMatchObject({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
      end_time: expect.any(String),
      scheduled_time: expect.any(String),
    });
    expect(outcomes[0]).not.toHaveProperty("video_url");
  });

  it("takes the same commands over HTTP without auth, and DELETE clears them", async () => {
    const post = (body: unknown) =>
      call(`${sandbox.url}/_sandbox/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(
      (await post({ action: "inject", fault: { route: "status", kind: "throttle", times: 5 } })).status,
    ).toBe(200);
    expect((await requests.status()).status).toBe(429);
    expect((await call(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" })).status).toBe(200);
    expect((await requests.status()).status).toBe(200);
    expect((await post({ action: "inject", fault: { route: "nowhere", kind: "throttle" } })).status).toBe(
      400,
    );

    expect(
      (await post({ action: "failNextTasks", failure: { code: "InternalError.Algo", message: "boom" } }))
        .status,
    ).toBe(200);
    const taskId = (await submit()).json().output.task_id;
    expect((await waitForTask(sandbox.baseUrl, sandbox.apiKey, taskId)).output.code).toBe(
      "InternalError.Algo",
    );

    const succeeded = (await submit()).json().output.task_id;
    const url = (await waitForTask(sandbox.baseUrl, sandbox.apiKey, succeeded)).output.video_url;
    expect((await call(url)).status).toBe(200);
    expect((await post({ action: "expireResults" })).status).toBe(200);
    expect((await call(url)).status).toBe(403);

    const stats = (await call(`${sandbox.url}/_sandbox/stats`)).json();
    expect(stats.stats.tasksCreated).toBe(sandbox.stats().tasksCreated);
    expect(stats.tasks).toHaveLength(sandbox.tasks().length);
  });

  it("refuses an upload form without the policy fields", async () => {
    const form = new FormData();
    form.append("file", new Blob([image]), "x.png");
    const response = await fetch(`${sandbox.url}/oss-upload`, { method: "POST", body: form });
    expect(response.status).toBe(400);
  });
});
