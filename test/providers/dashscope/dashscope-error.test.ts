import { readFileSync } from "node:fs";
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../../src/errors/configuration-error.ts";
import { ProviderError, type ProviderErrorKind } from "../../../src/errors/provider-error.ts";
import {
  createDashscopeVideoProvider,
  type DashscopeVideoProvider,
  parseDashscopeErrorBody,
  toDashscopeError,
} from "../../../src/providers/dashscope/index.ts";
import type { ProviderStartInput } from "../../../src/providers/provider.ts";

const ORIGIN = "https://dashscope.aliyuncs.com";
const BASE_URL = `${ORIGIN}/api/v1`;
const API_KEY = "sk-secret-key-0123456789";
const SUBMIT_PATH = "/api/v1/services/aigc/video-generation/video-synthesis";

interface ErrorRow {
  httpStatus: number;
  body: { request_id: string; code: string; message: string };
}
const errorRows: ErrorRow[] = JSON.parse(
  readFileSync(new URL("../../fixtures/dashscope/errors.json", import.meta.url), "utf8"),
);

/**
 * Expected kind per documented code (dashscope.md section 4); `server` means ambiguous on submit, transient elsewhere;
 * `configuration` means a ConfigurationError (a rejected key), tested on its own below.
 */
const EXPECTED: Record<string, ProviderErrorKind | "server" | "configuration"> = {
  InvalidParameter: "rejected",
  "InvalidParameter.DataInspection": "rejected",
  invalid_parameter_error: "rejected",
  DataInspectionFailed: "content_rejected",
  IPInfringementSuspect: "content_rejected",
  InvalidURL: "rejected",
  "InvalidURL.ConnectionRefused": "rejected",
  "InvalidURL.Timeout": "rejected",
  "BadRequest.EmptyInput": "rejected",
  "BadRequest.EmptyModel": "rejected",
  "BadRequest.IllegalInput": "rejected",
  Arrearage: "rejected",
  UnsupportedOperation: "rejected",
  InvalidApiKey: "configuration",
  AccessDenied: "rejected",
  "AccessDenied.Unpurchased": "rejected",
  "Model.AccessDenied": "rejected",
  "Workspace.AccessDenied": "rejected",
  "AllocationQuota.FreeTierOnly": "rejected",
  ModelNotFound: "rejected",
  Throttling: "throttled",
  "Throttling.RateQuota": "throttled",
  "Throttling.BurstRate": "throttled",
  "Throttling.AllocationQuota": "throttled",
  CommodityNotPurchased: "rejected",
  PrepaidBillOverdue: "rejected",
  PostpaidBillOverdue: "rejected",
  InternalError: "server",
  "InternalError.Algo": "server",
  SystemError: "server",
  ModelServiceFailed: "server",
  "InternalError.Timeout": "server",
  ModelServingError: "server",
  ModelUnavailable: "server",
};
const RETRYABLE_KINDS = new Set<ProviderErrorKind>(["throttled", "transient", "ambiguous_submit"]);

const input: ProviderStartInput = {
  prompt: "A lighthouse at dusk",
  resolution: "720P",
  duration: 5,
  seed: 7,
  audio: false,
  image: { kind: "url", url: "https://images.example.com/lighthouse.png" },
};

let agent: MockAgent;
let provider: DashscopeVideoProvider;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  provider = createDashscopeVideoProvider({ apiKey: API_KEY, baseUrl: BASE_URL, dispatcher: agent });
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

function reply(
  method: string,
  path: string | RegExp,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  agent
    .get(ORIGIN)
    .intercept({ method, path })
    .reply(statusCode, typeof body === "string" ? body : JSON.stringify(body), { headers });
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("documented error codes", () => {
  it("covers every code of the fixture table", () => {
    expect(errorRows.map((row) => row.body.code).sort()).toStrictEqual(Object.keys(EXPECTED).sort());
  });

  for (const row of errorRows) {
    const expected = EXPECTED[row.body.code]!;
    if (expected === "configuration") continue;
    it(`${row.httpStatus} ${row.body.code} → ${expected} on submit and on status`, async () => {
      reply("POST", SUBMIT_PATH, row.httpStatus, row.body);
      reply("GET", "/api/v1/tasks/t1", row.httpStatus, row.body);
      const onSubmit = await failure(provider.start(input));
      const onStatus = await failure(provider.status("t1"));

      const submitKind = expected === "server" ? "ambiguous_submit" : expected;
      const statusKind = expected === "server" ? "transient" : expected;
      for (const [error, kind, operation] of [
        [onSubmit, submitKind, "submit"],
        [onStatus, statusKind, "status"],
      ] as const) {
        expect(error).toMatchObject({
          kind,
          code: row.body.code,
          httpStatus: row.httpStatus,
          requestId: row.body.request_id,
          operation,
          retryable: RETRYABLE_KINDS.has(kind),
        });
        expect(error.message).toContain(
          `DashScope ${operation} failed: ${row.httpStatus} ${row.body.code}: ${row.body.message}`,
        );
        expect(error.message).toContain(`(request_id ${row.body.request_id})`);
      }
    });
  }

  it("gives Throttling.AllocationQuota a 60 s wait and the others no invented wait", async () => {
    const allocation = errorRows.find((row) => row.body.code === "Throttling.AllocationQuota")!;
    const rate = errorRows.find((row) => row.body.code === "Throttling.RateQuota")!;
    reply("POST", SUBMIT_PATH, 429, allocation.body);
    reply("POST", SUBMIT_PATH, 429, rate.body);
    expect((await failure(provider.start(input))).retryAfterMs).toBe(60_000);
    expect((await failure(provider.start(input))).retryAfterMs).toBeUndefined();
  });

  it("honours a Retry-After header on a throttle, in seconds or as a date", async () => {
    const rate = errorRows.find((row) => row.body.code === "Throttling.RateQuota")!;
    reply("POST", SUBMIT_PATH, 429, rate.body, { "retry-after": "7" });
    reply("GET", "/api/v1/tasks/t2", 429, rate.body, {
      "retry-after": new Date(Date.now() + 120_000).toUTCString(),
    });
    expect((await failure(provider.start(input))).retryAfterMs).toBe(7000);
    const dated = (await failure(provider.status("t2"))).retryAfterMs!;
    expect(dated).toBeGreaterThan(100_000);
    expect(dated).toBeLessThanOrEqual(120_000);
  });

  it("maps a 5xx on cancel, list and upload to transient", async () => {
    const body = { request_id: "r5", code: "InternalError", message: "An internal error has occured" };
    reply("POST", "/api/v1/tasks/t3/cancel", 500, body);
    reply("GET", /^\/api\/v1\/tasks\/\?/, 503, body);
    reply("GET", "/api/v1/uploads?action=getPolicy&model=wan2.6-i2v-flash", 502, "Bad Gateway");
    expect(await failure(provider.cancel("t3"))).toMatchObject({ kind: "transient", operation: "cancel" });
    expect(await failure(provider.listTasks({ pageNo: 1 }))).toMatchObject({
      kind: "transient",
      operation: "list",
    });
    const upload = await failure(
      provider.start({
        ...input,
        image: {
          kind: "bytes",
          bytes: new Uint8Array([1, 2, 3]),
          contentType: "image/png",
          filename: "a.png",
        },
      }),
    );
    expect(upload).toMatchObject({
      kind: "transient",
      operation: "upload",
      code: "HTTP_502",
      httpStatus: 502,
    });
    expect(upload.message).toBe("DashScope upload failed: 502 HTTP_502: Bad Gateway");
  });
});

describe("error bodies", () => {
  it("reads msg as message, falls back to x-request-id, and accepts non-JSON bodies", async () => {
    reply(
      "GET",
      "/api/v1/tasks/t4",
      400,
      { code: "InvalidParameter", msg: "bad id" },
      { "x-request-id": "hdr-1" },
    );
    reply("GET", "/api/v1/tasks/t5", 404, "<html><body>Not Found</body></html>");
    expect(await failure(provider.status("t4"))).toMatchObject({
      message: "DashScope status failed: 400 InvalidParameter: bad id (request_id hdr-1)",
      requestId: "hdr-1",
    });
    expect(await failure(provider.status("t5"))).toMatchObject({ kind: "rejected", code: "HTTP_404" });
  });

  it("reads the OSS XML error of the upload host", () => {
    expect(
      parseDashscopeErrorBody(
        '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message><RequestId>5F1</RequestId></Error>',
      ),
    ).toStrictEqual({
      code: "AccessDenied",
      message: "Invalid according to Policy: Policy expired.",
      requestId: "5F1",
    });
  });

  it("treats a top-level code in a 2xx as an error of that code", async () => {
    reply("POST", SUBMIT_PATH, 200, { request_id: "r6", code: "Throttling.RateQuota", message: "slow down" });
    reply("POST", SUBMIT_PATH, 200, { request_id: "r7", code: "DataInspectionFailed", message: "nope" });
    reply("POST", SUBMIT_PATH, 200, { request_id: "r8", code: "InternalError", message: "oops" });
    reply("GET", "/api/v1/tasks/t6", 200, { request_id: "r9", code: "InternalError", message: "oops" });
    reply("GET", "/api/v1/tasks/t7", 200, {
      request_id: "r10",
      code: "InvalidApiKey",
      message: "Invalid API-key",
    });
    expect(await failure(provider.start(input))).toMatchObject({ kind: "throttled", httpStatus: 200 });
    expect(await failure(provider.start(input))).toMatchObject({ kind: "content_rejected" });
    expect(await failure(provider.start(input))).toMatchObject({ kind: "ambiguous_submit", retryable: true });
    expect(await failure(provider.status("t6"))).toMatchObject({ kind: "transient" });
    const rejectedKey = await provider.status("t7").catch((caught: unknown) => caught);
    expect(rejectedKey).toBeInstanceOf(ConfigurationError);
    expect((rejectedKey as Error).message).toContain("(request_id r10)");
  });
});

describe("a rejected key is a configuration error", () => {
  const rejectedKey = async (promise: Promise<unknown>): Promise<ConfigurationError> => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  };
  const invalidKey = errorRows.find((row) => row.body.code === "InvalidApiKey")!;

  it("on every call (submit, status, cancel, list, upload policy), naming the key's and the region's settings", async () => {
    reply("POST", SUBMIT_PATH, 401, invalidKey.body);
    reply("GET", "/api/v1/tasks/t1", 401, invalidKey.body);
    reply("POST", "/api/v1/tasks/t1/cancel", 401, invalidKey.body);
    reply("GET", /^\/api\/v1\/tasks\/\?/, 401, invalidKey.body);
    reply("GET", "/api/v1/uploads?action=getPolicy&model=wan2.6-i2v-flash", 401, invalidKey.body);
    const bytes = {
      kind: "bytes" as const,
      bytes: new Uint8Array([1]),
      contentType: "image/png",
      filename: "a.png",
    };
    const errors = [
      await rejectedKey(provider.start(input)),
      await rejectedKey(provider.status("t1")),
      await rejectedKey(provider.cancel("t1")),
      await rejectedKey(provider.listTasks({ pageNo: 1 })),
      await rejectedKey(provider.start({ ...input, image: bytes })),
    ];
    for (const error of errors) {
      expect(error).toMatchObject({
        category: "configuration",
        code: "dashscope_api_key_rejected",
        retryable: false,
      });
      expect(error.message).toContain(`401 InvalidApiKey: ${invalidKey.body.message}`);
      expect(error.message).toContain(`(request_id ${invalidKey.body.request_id})`);
      expect(error.message).toContain("DASHSCOPE_API_KEY");
      expect(error.message).toContain("~/.alibabacloud/credentials");
      expect(error.message).toContain(
        `sent to ${BASE_URL} (the Beijing region, chosen by DASHSCOPE_HTTP_BASE_URL)`,
      );
      expect(error.message).toContain("https://dashscope-intl.aliyuncs.com/api/v1");
      expect(error.message).not.toContain(API_KEY);
    }
  });

  it("names the settings the composition root says the key and the URL came from, and the region of the URL", async () => {
    const singapore = "https://dashscope-intl.aliyuncs.com/api/v1";
    const fromFile = createDashscopeVideoProvider({
      apiKey: API_KEY,
      baseUrl: singapore,
      dispatcher: agent,
      settingNames: {
        apiKey: "dashscope_api_key in /home/someone/.alibabacloud/credentials",
        baseUrl: "DASHSCOPE_HTTP_BASE_URL",
      },
    });
    agent
      .get("https://dashscope-intl.aliyuncs.com")
      .intercept({ method: "GET", path: "/api/v1/tasks/t9" })
      .reply(
        401,
        JSON.stringify({ request_id: "r11", code: "InvalidApiKey", message: "No API-key provided." }),
      );
    const error = await rejectedKey(fromFile.status("t9"));
    expect(error.message).toContain(
      "The key comes from dashscope_api_key in /home/someone/.alibabacloud/credentials",
    );
    expect(error.message).toContain(
      `sent to ${singapore} (the Singapore region, chosen by DASHSCOPE_HTTP_BASE_URL)`,
    );
    expect(error.message).not.toContain(API_KEY);
  });

  it("stays a rejected ProviderError when the caller gives no key context", () => {
    const error = toDashscopeError({
      operation: "status",
      httpStatus: 401,
      body: { code: "InvalidApiKey", message: "Invalid API-key provided." },
      secrets: [],
    });
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: "rejected", code: "InvalidApiKey" });
  });
});

describe("network failures", () => {
  const refused = () =>
    Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), { code: "ECONNREFUSED" });
  const reset = () => Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
  const dns = () =>
    Object.assign(new Error("getaddrinfo ENOTFOUND dashscope.aliyuncs.com"), { code: "ENOTFOUND" });

  it("maps a refused connection to transient even on submit: nothing was sent", async () => {
    agent.get(ORIGIN).intercept({ method: "POST", path: SUBMIT_PATH }).replyWithError(refused());
    agent.get(ORIGIN).intercept({ method: "POST", path: SUBMIT_PATH }).replyWithError(dns());
    expect(await failure(provider.start(input))).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
    expect(await failure(provider.start(input))).toMatchObject({ kind: "transient", code: "ENOTFOUND" });
  });

  it("maps a reset to ambiguous on submit and transient on status", async () => {
    agent.get(ORIGIN).intercept({ method: "POST", path: SUBMIT_PATH }).replyWithError(reset());
    agent.get(ORIGIN).intercept({ method: "GET", path: "/api/v1/tasks/t8" }).replyWithError(reset());
    const onSubmit = await failure(provider.start(input));
    expect(onSubmit).toMatchObject({ kind: "ambiguous_submit", code: "UND_ERR_SOCKET", retryable: true });
    expect(onSubmit.message).toMatch(/reconcile with the task list/);
    expect(await failure(provider.status("t8"))).toMatchObject({ kind: "transient", code: "UND_ERR_SOCKET" });
  });
});

describe("secrets", () => {
  it("never puts the API key or a signed query in a message or a returned value", async () => {
    const leaky = `Unable to download https://bucket.oss-cn-beijing.aliyuncs.com/a.png?Expires=1&OSSAccessKeyId=LTAI&Signature=zzz with key ${API_KEY}; Signature=abc`;
    reply("POST", SUBMIT_PATH, 400, {
      request_id: "r1",
      code: "InvalidParameter.DataInspection",
      message: leaky,
    });
    reply("GET", "/api/v1/tasks/t9", 200, {
      output: { task_id: "t9", task_status: "FAILED", code: "X", message: leaky },
    });
    reply("GET", "/api/v1/tasks/t10", 503, leaky);
    agent
      .get(ORIGIN)
      .intercept({ method: "GET", path: "/api/v1/tasks/t11" })
      .replyWithError(Object.assign(new Error(`socket hang up ${API_KEY}`), { code: "ECONNRESET" }));

    const texts = [
      (await failure(provider.start(input))).message,
      JSON.stringify(await provider.status("t9")),
      (await failure(provider.status("t10"))).message,
      (await failure(provider.status("t11"))).message,
    ];
    for (const text of texts) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain("Signature=");
      expect(text).toContain("<redacted>");
    }
  });
});
