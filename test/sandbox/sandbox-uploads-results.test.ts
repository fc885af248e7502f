import { FormData, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import {
  call,
  makeImage,
  submitBody,
  submitHeaders,
  submitPath,
  waitForTask,
} from "./sandbox-test-helpers.ts";

describe("sandbox upload flow and signed result URLs", () => {
  let sandbox: SandboxHandle;
  let clockOffsetMs = 0;
  let image: Buffer;

  beforeAll(async () => {
    sandbox = await startSandbox({
      timings: { pendingMs: 50, renderMs: 50 },
      now: () => Date.now() + clockOffsetMs,
      // This file is about uploads and result URLs: its quick submits must not meet the 5 submits/s limit.
      submitsPerSecond: 100,
    });
    image = await makeImage(640, 480, "jpeg");
  });
  afterAll(async () => sandbox?.close());

  const authorization = () => ({ authorization: `Bearer ${sandbox.apiKey}` });

  const getPolicy = async (model = "wan2.6-i2v-flash") => {
    const response = await call(`${sandbox.baseUrl}/uploads?action=getPolicy&model=${model}`, {
      headers: { ...authorization(), "content-type": "application/json" },
    });
    expect(response.status).toBe(200);
    return response.json().data;
  };

  /** The form as the SDK sends it: the documented fields, `file` last. */
  const uploadForm = (
    policy: Record<string, string>,
    key: string,
    overrides: Record<string, string> = {},
  ) => {
    const form = new FormData();
    const fields: Record<string, string> = {
      OSSAccessKeyId: policy.oss_access_key_id ?? "",
      Signature: policy.signature ?? "",
      policy: policy.policy ?? "",
      key,
      "x-oss-object-acl": policy.x_oss_object_acl ?? "",
      "x-oss-forbid-overwrite": policy.x_oss_forbid_overwrite ?? "",
      success_action_status: "200",
      "x-oss-content-type": "image/jpeg",
      ...overrides,
    };
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([image], { type: "image/jpeg" }), "cat.jpg");
    return form;
  };

  const upload = (uploadHost: string, form: FormData) =>
    fetch(uploadHost, { method: "POST", body: form, signal: AbortSignal.timeout(10_000) });

  it("issues a policy of the documented shape", async () => {
    const policy = await getPolicy();
    expect(policy).toMatchObject({
      upload_host: `${sandbox.url}/oss-upload`,
      expire_in_seconds: 300,
      max_file_size_mb: 100,
      x_oss_object_acl: "private",
      x_oss_forbid_overwrite: "true",
      upload_dir: expect.stringMatching(
        /^dashscope-instant\/[0-9a-f]{32}\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/,
      ),
    });
    expect(policy.policy).toEqual(expect.any(String));
    expect(policy.signature).toEqual(expect.any(String));
    const unauthorized = await call(`${sandbox.baseUrl}/uploads?action=getPolicy&model=wan2.6-i2v-flash`);
    expect(unauthorized.status).toBe(401);
    const wrongModel = await call(`${sandbox.baseUrl}/uploads?action=getPolicy&model=qwen-max`, {
      headers: authorization(),
    });
    expect(wrongModel.status).toBe(400);
  });

  it("uploads with the policy, then a submit with oss:// works with the header and fails without", async () => {
    const policy = await getPolicy();
    const key = `${policy.upload_dir}/cat.jpg`;
    const response = await upload(policy.upload_host, uploadForm(policy, key));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect(sandbox.stats().uploads).toBe(1);

    const again = await upload(policy.upload_host, uploadForm(policy, key));
    expect(again.status).toBe(409);

    const withoutHeader = await call(`${sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(sandbox.apiKey),
      body: submitBody(`oss://${key}`),
    });
    expect(withoutHeader.status).toBe(400);
    expect(withoutHeader.json().code).toBe("InvalidParameter.DataInspection");

    const submitted = await call(`${sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(sandbox.apiKey, { "x-dashscope-ossresourceresolve": "enable" }),
      body: submitBody(`oss://${key}`),
    });
    expect(submitted.status).toBe(200);
    const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, submitted.json().output.task_id);
    expect(finished.output.task_status).toBe("SUCCEEDED");
    expect(sandbox.tasks().at(-1)).toMatchObject({
      image: { source: "oss", format: "jpeg", width: 640, height: 480 },
      output: { width: 1104, height: 816 },
    });
  });

  it("binds an upload to the model it was uploaded for, and forgets it after 48 h", async () => {
    const submitOss = (key: string) =>
      call(`${sandbox.baseUrl}${submitPath}`, {
        method: "POST",
        headers: submitHeaders(sandbox.apiKey, { "x-dashscope-ossresourceresolve": "enable" }),
        body: submitBody(`oss://${key}`),
      });
    // Uploaded for another model of the family: a wan2.6-i2v-flash submit cannot read it.
    const otherPolicy = await getPolicy("wan2.6-i2v");
    const otherKey = `${otherPolicy.upload_dir}/other-model.jpg`;
    expect((await upload(otherPolicy.upload_host, uploadForm(otherPolicy, otherKey))).status).toBe(200);
    const otherModel = await submitOss(otherKey);
    expect(otherModel.status).toBe(400);
    expect(otherModel.json()).toMatchObject({
      code: "InvalidParameter.DataInspection",
      message: expect.stringContaining("Unable to download"),
    });

    const policy = await getPolicy();
    const key = `${policy.upload_dir}/aging.jpg`;
    expect((await upload(policy.upload_host, uploadForm(policy, key))).status).toBe(200);
    const stored = Date.now();
    try {
      clockOffsetMs = 48 * 3600_000 - 60_000;
      const young = await submitOss(key);
      expect(young.status).toBe(200);
      await waitForTask(sandbox.baseUrl, sandbox.apiKey, young.json().output.task_id);
      clockOffsetMs = 48 * 3600_000 + (Date.now() - stored);
      const expired = await submitOss(key);
      expect(expired.status).toBe(400);
      expect(expired.json().code).toBe("InvalidParameter.DataInspection");
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("refuses a bad upload: tampered signature, key outside the directory, file not last, expired policy", async () => {
    const uploadsBefore = sandbox.stats().uploads;
    const policy = await getPolicy();
    const key = `${policy.upload_dir}/dog.jpg`;
    const tampered = await upload(policy.upload_host, uploadForm(policy, key, { Signature: "AAAA" }));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain("<Code>SignatureDoesNotMatch</Code>");

    const outside = await upload(policy.upload_host, uploadForm(policy, "dashscope-instant/other/dog.jpg"));
    expect(outside.status).toBe(403);

    const fileFirst = new FormData();
    fileFirst.append("file", new Blob([image]), "dog.jpg");
    for (const [name, value] of uploadForm(policy, key).entries()) {
      if (name !== "file") fileFirst.append(name, value);
    }
    expect((await upload(policy.upload_host, fileFirst)).status).toBe(400);

    const missing = uploadForm(policy, key);
    missing.delete("success_action_status");
    expect((await upload(policy.upload_host, missing)).status).toBe(400);

    clockOffsetMs = 301_000;
    try {
      const expired = await upload(policy.upload_host, uploadForm(policy, key));
      expect(expired.status).toBe(403);
      const text = await expired.text();
      expect(text).toContain("<Code>AccessDenied</Code>");
      expect(text).toContain("Invalid according to Policy: Policy expired.");
    } finally {
      clockOffsetMs = 0;
    }
    expect(sandbox.stats().uploads).toBe(uploadsBefore);
  });

  it("serves the video at its signed URL with Range support, then refuses it when tampered or expired", async () => {
    const submitted = await call(`${sandbox.baseUrl}${submitPath}`, {
      method: "POST",
      headers: submitHeaders(sandbox.apiKey),
      body: submitBody(`data:image/jpeg;base64,${image.toString("base64")}`),
    });
    const finished = await waitForTask(sandbox.baseUrl, sandbox.apiKey, submitted.json().output.task_id);
    const videoUrl: string = finished.output.video_url;

    const full = await fetch(videoUrl, { signal: AbortSignal.timeout(10_000) });
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("video/mp4");
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(Number(full.headers.get("content-length"))).toBe(bytes.length);
    expect(bytes.subarray(4, 8).toString("latin1")).toBe("ftyp");

    const partial = await fetch(videoUrl, {
      headers: { range: "bytes=10-19" },
      signal: AbortSignal.timeout(10_000),
    });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe(`bytes 10-19/${bytes.length}`);
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(bytes.subarray(10, 20));
    const suffix = await fetch(videoUrl, {
      headers: { range: "bytes=-4" },
      signal: AbortSignal.timeout(10_000),
    });
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 4));
    const beyond = await fetch(videoUrl, {
      headers: { range: `bytes=${bytes.length}-` },
      signal: AbortSignal.timeout(10_000),
    });
    expect(beyond.status).toBe(416);
    await beyond.arrayBuffer();

    const tamperedSignature = new URL(videoUrl);
    tamperedSignature.searchParams.set("Signature", "bm90IGEgc2lnbmF0dXJl");
    expect((await call(tamperedSignature.toString())).status).toBe(403);
    const laterExpiry = new URL(videoUrl);
    laterExpiry.searchParams.set("Expires", String(Number(laterExpiry.searchParams.get("Expires")) + 3600));
    expect((await call(laterExpiry.toString())).status).toBe(403);
    const unsigned = new URL(videoUrl);
    unsigned.search = "";
    expect((await call(unsigned.toString())).status).toBe(403);

    clockOffsetMs = 24 * 3600_000 + 1000;
    try {
      const expired = await call(videoUrl);
      expect(expired.status).toBe(403);
      expect(expired.text).toContain("<Code>AccessDenied</Code>");
    } finally {
      clockOffsetMs = 0;
    }
    expect((await call(videoUrl)).status).toBe(200);
    sandbox.faults.expireResults();
    expect((await call(videoUrl)).status).toBe(403);
    expect(sandbox.stats().downloads).toBe(4); // 200, two 206, and the 200 after the clock came back
  });
});
