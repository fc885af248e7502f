import { readFileSync } from "node:fs";
import { type FormData, MockAgent } from "undici";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ProviderError } from "../../../src/errors/provider-error.ts";
import {
  createDashscopeVideoProvider,
  type DashscopeVideoProvider,
} from "../../../src/providers/dashscope/index.ts";
import type { ProviderStartInput } from "../../../src/providers/provider.ts";

const ORIGIN = "https://dashscope.aliyuncs.com";
const UPLOAD_ORIGIN = "https://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com";
const API_KEY = "sk-upload-key-0123456789";
const POLICY_PATH = "/api/v1/uploads?action=getPolicy&model=wan2.6-i2v-flash";
const SUBMIT_PATH = "/api/v1/services/aigc/video-generation/video-synthesis";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/dashscope/${name}.json`, import.meta.url), "utf8"));

const imageBytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
const input: ProviderStartInput = {
  prompt: "A cat looks up",
  resolution: "720P",
  duration: 3,
  seed: 11,
  audio: false,
  image: { kind: "bytes", bytes: imageBytes, contentType: "image/png", filename: "../My Cat (1).png" },
};

let agent: MockAgent;
let provider: DashscopeVideoProvider;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  provider = createDashscopeVideoProvider({
    apiKey: API_KEY,
    baseUrl: `${ORIGIN}/api/v1`,
    dispatcher: agent,
  });
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

it("gets a policy, posts the form with file last and no Authorization, then submits the oss:// URL with the header", async () => {
  const sent: Array<{ path: string; headers: Record<string, string>; body: unknown }> = [];
  const record = (options: { path: string; headers?: unknown; body?: unknown }) =>
    sent.push({
      path: options.path,
      headers: { ...(options.headers as Record<string, string>) },
      body: options.body,
    });

  agent
    .get(ORIGIN)
    .intercept({ method: "GET", path: POLICY_PATH })
    .reply((options) => {
      record(options);
      return { statusCode: 200, data: JSON.stringify(fixture("upload-policy")) };
    });
  agent
    .get(UPLOAD_ORIGIN)
    .intercept({ method: "POST", path: "/" })
    .reply((options) => {
      record(options);
      return { statusCode: 200, data: "" };
    });
  agent
    .get(ORIGIN)
    .intercept({ method: "POST", path: SUBMIT_PATH })
    .reply((options) => {
      record(options);
      return { statusCode: 200, data: JSON.stringify(fixture("submit")) };
    });

  await expect(provider.start(input)).resolves.toMatchObject({
    taskId: "0385dc79-5ff8-4d82-bcb6-3b1f0e2a9d10",
  });

  const [policyRequest, uploadRequest, submitRequest] = sent;
  expect(policyRequest?.headers).toStrictEqual({ Authorization: `Bearer ${API_KEY}` });

  expect(uploadRequest?.headers).not.toHaveProperty("Authorization");
  const form = uploadRequest?.body as FormData;
  const entries = [...form.entries()];
  const key = "dashscope-instant/0a1b2c3d4e5f/2026-01-22/5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f/My_Cat__1_.png";
  expect(entries.map(([name]) => name)).toStrictEqual([
    "OSSAccessKeyId",
    "Signature",
    "policy",
    "key",
    "x-oss-object-acl",
    "x-oss-forbid-overwrite",
    "success_action_status",
    "x-oss-content-type",
    "file",
  ]);
  expect(Object.fromEntries(entries.slice(0, -1))).toStrictEqual({
    OSSAccessKeyId: "LTAI5tExampleUploadId",
    Signature: "eWyExampleSignatureValue=",
    policy: "eyJleHBpcmF0aW9uIjoiMjAyNi0wMS0yMlQxNjozMDowMC4wMDBaIn0=",
    key,
    "x-oss-object-acl": "private",
    "x-oss-forbid-overwrite": "true",
    success_action_status: "200",
    "x-oss-content-type": "image/png",
  });
  const file = form.get("file") as File;
  expect(file.name).toBe("My_Cat__1_.png");
  expect(file.type).toBe("image/png");
  expect(new Uint8Array(await file.arrayBuffer())).toStrictEqual(imageBytes);

  expect(submitRequest?.headers["X-DashScope-OssResourceResolve"]).toBe("enable");
  expect(JSON.parse(String(submitRequest?.body)).input.img_url).toBe(`oss://${key}`);
});

it("refuses an http upload host when the API is reached over https, before sending anything to it", async () => {
  const policy = fixture("upload-policy") as { data: Record<string, unknown> };
  policy.data.upload_host = "http://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com";
  agent.get(ORIGIN).intercept({ method: "GET", path: POLICY_PATH }).reply(200, JSON.stringify(policy));

  const error = await provider.start(input).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ProviderError);
  expect(error).toMatchObject({
    kind: "invalid_response",
    code: "untrusted_upload_host",
    operation: "upload",
  });
});

it("maps a rejected upload (OSS XML error) to a non-retryable error without the policy's secrets", async () => {
  agent
    .get(ORIGIN)
    .intercept({ method: "GET", path: POLICY_PATH })
    .reply(200, JSON.stringify(fixture("upload-policy")));
  agent
    .get(UPLOAD_ORIGIN)
    .intercept({ method: "POST", path: "/" })
    .reply(
      403,
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired. eWyExampleSignatureValue=</Message><RequestId>65A1B2</RequestId></Error>',
    );

  const error = (await provider.start(input).catch((caught: unknown) => caught)) as ProviderError;
  expect(error).toMatchObject({
    kind: "rejected",
    code: "AccessDenied",
    httpStatus: 403,
    requestId: "65A1B2",
  });
  expect(error.message).toMatch(
    /^DashScope upload failed: 403 AccessDenied: Invalid according to Policy: Policy expired/,
  );
  expect(error.message).not.toContain("eWyExampleSignatureValue=");
});

it("reports a policy body of the wrong shape as invalid_response", async () => {
  agent
    .get(ORIGIN)
    .intercept({ method: "GET", path: POLICY_PATH })
    .reply(200, JSON.stringify({ request_id: "r", data: { upload_host: UPLOAD_ORIGIN } }));
  const error = await provider.start(input).catch((caught: unknown) => caught);
  expect(error).toMatchObject({ kind: "invalid_response", operation: "upload", retryable: false });
});
