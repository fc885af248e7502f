import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Inngest } from "inngest";
import ipaddr from "ipaddr.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { isVideoGenerationError } from "../../src/errors/index.ts";
import { createVideoGenerateFunctions } from "../../src/functions/video-generate.ts";
import { EVENT_NAMES } from "../../src/functions/video-generation-events.ts";
import { resolveReferenceImage } from "../../src/media/reference-image.ts";
import { createSafeFetcher, fetchBytes } from "../../src/net/safe-fetch.ts";
import { createUrlGuard, type UrlGuard } from "../../src/net/url-guard.ts";
import { EventBus } from "../../src/runner/event-bus.ts";
import { type GenerationOutcome, generateInProcess } from "../../src/runner/generate-in-process.ts";
import { createStageServer } from "../../src/server/create-stage-server.ts";
import { signRequest } from "../helpers/fake-inngest-executor.ts";
import { startHttpFileServer, type TestHttpServer } from "../helpers/http-file-server.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import {
  acceleratedClock,
  SAMPLE_IMAGE_PATH,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";
import { stepOutputsOf } from "../helpers/step-journal.ts";

const fast = acceleratedClock(50);
const API_KEY = `sk-sandbox-SECRET-${Math.random().toString(36).slice(2, 12)}`;
/** What must never show up anywhere outside the provider call itself. */
const SECRETS = [API_KEY, "Signature=", "X-Amz-Signature", "OSSAccessKeyId", "Expires="];

const checks: Record<string, number> = {};
const tick = (name: string, amount = 1) => {
  checks[name] = (checks[name] ?? 0) + amount;
};
afterAll(() => {
  process.stdout.write(`security checks: ${JSON.stringify(checks)}\n`);
});

/**
 * Refuses to let a test connect anywhere but loopback even if the guard under test were broken: the real guard runs
 * first, and a URL it lets through that is not loopback fails the test here instead of being fetched.
 */
function loopbackOnly(guard: UrlGuard): UrlGuard {
  return {
    checkAddress: guard.checkAddress,
    async check(url, options) {
      await guard.check(url, options);
      const host = url.hostname.replace(/^\[|\]$/g, "");
      if (!(ipaddr.isValid(host) && ipaddr.process(host).range() === "loopback") && host !== "localhost") {
        throw new Error(`TEST SAFETY NET: the guard let ${url.host} through`);
      }
    },
  };
}

let harness: StageHarness;
let allowedServer: TestHttpServer;
let otherServer: TestHttpServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  allowedServer = await startHttpFileServer();
  otherServer = await startHttpFileServer({
    "/image.jpg": { file: SAMPLE_IMAGE_PATH, contentType: "image/jpeg" },
  });
  database = await createTestDatabase(inject("postgresUrl"));
  harness = await startStageHarness({
    sandbox: { apiKey: API_KEY, timings: { pendingMs: 200, renderMs: 300 } },
    environment: { DATABASE_URL: database.url },
  });
  // The harness allows only the sandbox; the "allowed" server is exempted the way an operator would, by host:port.
  const allowHosts = [`127.0.0.1:${harness.sandbox.port}`, `127.0.0.1:${allowedServer.port}`];
  const fetcher = createSafeFetcher({ guard: createUrlGuard({ allowHosts }), maxBytes: 20 * 1024 * 1024 });
  harness.dependencies.resolveImage = (reference) =>
    resolveReferenceImage(reference, {
      fetchBytes: async (url, maxBytes, signal) =>
        (await fetchBytes(fetcher, url, { maxBytes, signal, subject: { field: "reference_image" } })).bytes,
      localFiles: { mode: "any" },
    });
});
afterAll(async () => {
  await harness?.close();
  await database?.drop();
  await allowedServer?.close();
  await otherServer?.close();
});

describe("URLs to private, loopback, link-local and metadata addresses are refused", () => {
  const nonLoopback = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://10.0.0.1/image.jpg",
    "http://10.255.255.254/image.jpg",
    "http://172.16.0.1/image.jpg",
    "http://172.31.255.254/image.jpg",
    "http://192.168.0.1/image.jpg",
    "http://192.168.255.254/image.jpg",
    "http://[fe80::1]/image.jpg",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
  ];

  it("directly: the guard refuses each before any connection, naming the field", async () => {
    const guard = createUrlGuard({ allowHosts: [`127.0.0.1:${allowedServer.port}`] });
    for (const url of nonLoopback) {
      await expect(
        guard.check(new URL(url), { subject: { field: "reference_image" } }),
        url,
      ).rejects.toMatchObject({
        code: "invalid_input",
        message: expect.stringContaining("reference_image"),
      });
      await expect(guard.check(new URL(url), { subject: "result" }), url).rejects.toMatchObject({
        code: "url_refused",
      });
      tick("guard: private/metadata URL refused", 2);
    }
  });

  it("through a redirect from an allowed local server: every hop is re-checked", async () => {
    const fetcher = createSafeFetcher({
      guard: loopbackOnly(createUrlGuard({ allowHosts: [`127.0.0.1:${allowedServer.port}`] })),
      maxBytes: 1024 * 1024,
    });
    const targets = [
      ...nonLoopback,
      otherServer.url("/image.jpg"),
      `http://localhost:${otherServer.port}/image.jpg`,
      `http://[::1]:${otherServer.port}/image.jpg`,
    ];
    for (const [index, target] of targets.entries()) {
      allowedServer.route(`/hop-${index}`, { redirectTo: target });
      const attempt = fetchBytes(fetcher, allowedServer.url(`/hop-${index}`), {
        maxBytes: 1024 * 1024,
        subject: { field: "reference_image" },
      });
      const error = await attempt.then(
        () => new Error(`fetched ${target}`),
        (thrown: unknown) => thrown,
      );
      expect(isVideoGenerationError(error) && error.code, `${target}: ${String(error)}`).toBe(
        "invalid_input",
      );
      tick("redirect to a refused address refused");
    }
    // Two hops: allowed → allowed → refused.
    allowedServer.route("/two-hops", { redirectTo: "/hop-0" });
    await expect(
      fetchBytes(fetcher, allowedServer.url("/two-hops"), {
        maxBytes: 1024,
        subject: { field: "reference_image" },
      }),
    ).rejects.toMatchObject({
      code: "invalid_input",
    });
    tick("redirect to a refused address refused");
    expect(otherServer.requests).toEqual([]);
  });

  it("through the whole stage: loopback forms as reference_image are refused before the provider, and result URLs too", async () => {
    const port = otherServer.port;
    const loopbackForms = [
      `http://127.0.0.1:${port}/image.jpg`,
      `http://127.1.2.3:${port}/image.jpg`,
      `http://localhost:${port}/image.jpg`,
      `http://[::1]:${port}/image.jpg`,
      `http://[::ffff:127.0.0.1]:${port}/image.jpg`,
      `http://0.0.0.0:${port}/image.jpg`,
      `http://2130706433:${port}/image.jpg`,
      `http://0x7f.0.0.1:${port}/image.jpg`,
    ];
    const redirected = loopbackForms.map((target, index) => {
      allowedServer.route(`/stage-hop-${index}`, { redirectTo: target });
      return allowedServer.url(`/stage-hop-${index}`);
    });
    const references = [...loopbackForms, ...redirected];
    const outcomes = await Promise.all(
      references.map((reference) =>
        generateInProcess(sampleRequest({ reference_image: reference }), harness.dependencies, {
          clock: fast,
          retries: 1,
        }),
      ),
    );
    const summary = outcomes.map((outcome, index) => ({
      reference: references[index],
      code: outcome.status === "failed" ? outcome.error.code : outcome.status,
      namesField: outcome.status === "failed" && outcome.error.message.includes("reference_image"),
    }));
    expect(summary).toEqual(
      references.map((reference) => ({ reference, code: "invalid_input", namesField: true })),
    );
    expect(otherServer.requests).toEqual([]);
    expect(harness.sandbox.stats().tasksCreated).toBe(0);
    tick("stage: loopback reference_image refused", references.length);

    // The provider's result URL is fetched by the copy through the same guard (subject "result").
    for (const target of loopbackForms) {
      await expect(
        harness.dependencies.objectStore.copyFromUrl(target, "videos/never.mp4"),
        target,
      ).rejects.toMatchObject({
        code: "url_refused",
      });
      tick("stage: loopback result URL refused");
    }
    expect(otherServer.requests).toEqual([]);
  });
});

describe("local paths: only under REFERENCE_IMAGE_ROOT (server rule)", () => {
  it("refuses paths outside the root, `..` segments and symlink escapes; reads a file inside", async () => {
    const base = await mkdtemp(path.join(tmpdir(), "reliability-root-"));
    const root = path.join(base, "root");
    await mkdir(path.join(root, "nested"), { recursive: true });
    await writeFile(path.join(base, "secret.txt"), "outside the root");
    const { readFile } = await import("node:fs/promises");
    await writeFile(path.join(root, "nested", "ok.jpg"), await readFile(SAMPLE_IMAGE_PATH));
    await writeFile(path.join(base, "outside.jpg"), await readFile(SAMPLE_IMAGE_PATH));
    await symlink(path.join(base, "outside.jpg"), path.join(root, "link-out.jpg"));
    await symlink(base, path.join(root, "dir-out"));
    const options = {
      fetchBytes: async () => {
        throw new Error("no downloads here");
      },
      localFiles: { mode: "root", root } as const,
    };
    try {
      const refused = [
        SAMPLE_IMAGE_PATH,
        path.join(base, "outside.jpg"),
        "../outside.jpg",
        "nested/../../outside.jpg",
        `${root}/../outside.jpg`,
        "link-out.jpg",
        "dir-out/outside.jpg",
        "/etc/passwd",
        `file://${path.join(base, "outside.jpg")}`,
      ];
      for (const reference of refused) {
        await expect(resolveReferenceImage(reference, options), reference).rejects.toMatchObject({
          code: "invalid_input",
          message: expect.stringContaining("reference_image"),
        });
        tick("local path escape refused");
      }
      await expect(resolveReferenceImage("nested/ok.jpg", options)).resolves.toMatchObject({
        format: "jpeg",
      });
      await expect(
        resolveReferenceImage(path.join(root, "nested", "ok.jpg"), {
          ...options,
          localFiles: { mode: "none" },
        }),
      ).rejects.toMatchObject({ code: "invalid_input" });
      tick("local path escape refused");
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe("Inngest serve endpoint in cloud mode", () => {
  const SIGNING_KEY = "signkey-test-5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a8f1c2a9e4b7d6c5a3f2e1d0c9b8a7f6e";
  let server: http.Server;
  let endpoint: string;
  beforeAll(async () => {
    const client = new Inngest({
      id: "video-agent",
      signingKey: SIGNING_KEY,
      eventKey: "test-event-key",
      baseUrl: "http://127.0.0.1:9",
      isDev: false,
    });
    server = createStageServer({
      client,
      functions: createVideoGenerateFunctions(client, harness.dependencies),
      describe: () => ({}),
      checkDatabase: () => harness.dependencies.metadataStore.countSlots(),
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/inngest`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers unsigned, wrongly signed, stale and tampered calls with 401 and runs nothing", async () => {
    const body = {
      event: { name: EVENT_NAMES.requested, data: sampleRequest({ generation_id: "unsigned-call" }) },
      steps: {},
      ctx: {},
      version: 2,
    };
    const call = (headers: Record<string, string>, payload: unknown = body) =>
      fetch(`${endpoint}?fnId=video-agent-video-generate&stepId=step`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(payload),
      });
    const tampered = {
      ...body,
      event: { ...body.event, data: sampleRequest({ generation_id: "tampered-call" }) },
    };
    const responses = [
      await call({}),
      await call({ "x-inngest-signature": "garbage" }),
      await call({ "x-inngest-signature": signRequest(body, "signkey-test-00112233445566778899") }),
      await call({
        "x-inngest-signature": signRequest(body, SIGNING_KEY, Math.floor(Date.now() / 1000) - 3600),
      }),
      await call({ "x-inngest-signature": signRequest(body, SIGNING_KEY) }, tampered),
      await fetch(endpoint),
    ];
    expect(responses.map((response) => response.status)).toEqual([401, 401, 401, 401, 401, 401]);
    for (const response of responses) expect(await response.text()).not.toContain(SIGNING_KEY.slice(-24));
    expect(await harness.dependencies.metadataStore.get("unsigned-call")).toBeNull();
    expect(await harness.dependencies.metadataStore.get("tampered-call")).toBeNull();
    tick("unsigned or wrongly signed Inngest call refused", responses.length);
  });
});

/** Step outputs of one run, after `setup` (a fault to inject). */
async function stepOutputsOfRun(request: Record<string, unknown>, runId: string, setup: () => void) {
  setup();
  return stepOutputsOf(request, harness.dependencies, { runId, clock: fast });
}

describe("no secret in logs, errors, step outputs, events or records", () => {
  it("across a happy, a failed, a throttled and a canceled run", async () => {
    const captured: string[] = [];
    const keep = (...parts: unknown[]) => {
      captured.push(
        parts
          .map((part) => (typeof part === "string" ? part : (JSON.stringify(part) ?? String(part))))
          .join(" "),
      );
    };
    const spies = [
      ...(["log", "info", "warn", "error", "debug"] as const).map((method) =>
        vi.spyOn(console, method).mockImplementation(keep),
      ),
      vi.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => {
        keep(String(chunk));
        return true;
      }),
    ];
    const bus = new EventBus();
    bus.subscribe((event) => keep("event", event));
    const logger = { info: keep, warn: keep };
    const { faults } = harness.sandbox;
    const scenarios: Array<{
      name: string;
      setup: () => void;
      abortAfter?: string;
      request: Record<string, unknown>;
    }> = [
      { name: "happy", setup: () => undefined, request: sampleRequest({ prompt: "secret scan happy" }) },
      {
        name: "failed",
        setup: () =>
          faults.failNextTasks({
            code: "DataInspectionFailed",
            message: "Output data may contain inappropriate content.",
          }),
        request: sampleRequest({ prompt: "secret scan failed" }),
      },
      {
        name: "throttled",
        setup: () => {
          faults.inject({ route: "submit", kind: "throttle", times: 3 });
          faults.inject({ route: "status", kind: "server-error", times: 2 });
          faults.inject({ route: "download", kind: "reset-midway", times: 1 });
        },
        request: sampleRequest({ prompt: "secret scan throttled" }),
      },
      {
        name: "canceled",
        setup: () => faults.inject({ route: "status", kind: "slow", delayMs: 300, times: 1 }),
        abortAfter: "submit",
        request: sampleRequest({ prompt: "secret scan canceled" }),
      },
      {
        name: "expired result URL",
        setup: () => undefined,
        request: sampleRequest({ prompt: "secret scan expired" }),
      },
    ];
    const outcomes: GenerationOutcome[] = [];
    let stepOutputs = "";
    try {
      for (const [index, scenario] of scenarios.entries()) {
        scenario.setup();
        const controller = new AbortController();
        const outcome = await generateInProcess(
          { ...scenario.request, generation_id: `scan-${index}` },
          harness.dependencies,
          {
            clock: fast,
            bus,
            logger,
            signal: controller.signal,
            onStep: (event) => {
              keep("step", event);
              if (scenario.abortAfter && event.kind === "step-completed" && event.id === scenario.abortAfter)
                controller.abort(new Error("canceled by the test"));
              if (
                scenario.name === "expired result URL" &&
                event.kind === "step-started" &&
                event.id === "copy"
              )
                faults.expireResults();
            },
          },
        );
        outcomes.push(outcome);
        keep("outcome", outcome);
        stepOutputs += await stepOutputsOfRun(
          {
            ...scenario.request,
            prompt: `${scenario.request.prompt} (journal)`,
            generation_id: `scan-journal-${index}`,
          },
          `scan-journal-${index}`,
          scenario.name === "canceled" ? () => undefined : scenario.setup,
        );
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(
      outcomes.map((outcome) => (outcome.status === "failed" ? outcome.error.code : outcome.status)),
    ).toEqual(["succeeded", "DataInspectionFailed", "succeeded", "canceled", "download_gone"]);
    // Control: the needles are real. The provider's own status answer carries the signed result URL.
    const succeededTask = harness.sandbox.tasks().find((task) => task.status === "SUCCEEDED");
    const rawStatus = await (
      await fetch(`${harness.sandbox.baseUrl}/tasks/${succeededTask?.taskId}`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      })
    ).text();
    expect(rawStatus).toContain("OSSAccessKeyId");
    expect(rawStatus).toContain("Signature=");

    const records = JSON.stringify(await harness.dependencies.metadataStore.list({}));
    const perRecord = JSON.stringify(
      await Promise.all(scenarios.map((_, index) => harness.dependencies.metadataStore.get(`scan-${index}`))),
    );
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    let tableDump = "";
    try {
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
      );
      for (const { table_name } of tables.rows) {
        const rows = await client.query(`SELECT * FROM "${table_name}"`);
        tableDump += `${table_name}: ${JSON.stringify(rows.rows)}\n`;
      }
    } finally {
      await client.end();
    }
    expect(tableDump).toContain("scan-0");
    expect(stepOutputs).toContain("validate");

    const haystacks = {
      logsAndConsoleAndEvents: captured.join("\n"),
      stepOutputs,
      records,
      perRecord,
      tableDump,
    };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of SECRETS) {
        expect(text.includes(secret), `${secret} found in ${where}`).toBe(false);
        tick("secret scans (haystack × needle)");
      }
    }
    tick(
      "bytes scanned",
      Object.values(haystacks).reduce((sum, text) => sum + text.length, 0),
    );
  }, 90_000);
});

describe("what steps keep of the request", () => {
  it("carries a data: URI image only in the event: no step output repeats it", async () => {
    const image = await readFile(SAMPLE_IMAGE_PATH);
    const dataUri = `data:image/jpeg;base64,${image.toString("base64")}`;
    const outputs = await stepOutputsOfRun(
      sampleRequest({ reference_image: dataUri, generation_id: "data-uri-steps" }),
      "data-uri-steps",
      () => undefined,
    );
    expect(outputs).toContain('"validate"');
    expect(outputs).toContain("images/");
    // Control: the image is large next to everything the steps keep.
    expect(dataUri.length).toBeGreaterThan(outputs.length);
    expect(outputs).not.toContain(image.toString("base64").slice(0, 200));
  });
});
