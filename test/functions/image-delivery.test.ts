import { afterEach, describe, expect, it } from "vitest";
import { EventBus } from "../../src/runner/event-bus.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import { s3TestTarget } from "../helpers/s3-test-target.ts";
import {
  acceleratedClock,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";
import { stepOutputsOf } from "../helpers/step-journal.ts";

const fast = acceleratedClock(20);

let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The S3 test server as the stage's object store. */
function s3Environment(extra: Record<string, string> = {}) {
  const target = s3TestTarget();
  target.client.destroy();
  return {
    target,
    environment: {
      S3_BUCKET: target.bucket,
      S3_ENDPOINT: target.endpoint,
      S3_REGION: target.region,
      S3_PREFIX: target.prefix,
      AWS_ACCESS_KEY_ID: target.accessKeyId,
      AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
      ...extra,
    },
  };
}

describe("how the reference image reaches the model", () => {
  it("from an object store the internet can reach: a presigned URL, and no temporary upload at all", async () => {
    const { target, environment } = s3Environment({ S3_PUBLIC_BASE_URL: "https://cdn.example.com/videos" });
    harness = await startStageHarness({
      environment,
      // The sandbox fetches image URLs only from listed hosts, as DashScope fetches only what the internet reaches.
      sandbox: { allowImageHosts: [new URL(target.endpoint).host] },
    });
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe((event) => seen.push(JSON.stringify(event)));
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "delivered-presigned" }),
      harness.dependencies,
      {
        clock: fast,
        bus,
      },
    );

    expect(outcome.status).toBe("succeeded");
    expect(harness.sandbox.tasks()[0]?.image.source).toBe("url");
    expect(harness.sandbox.stats().uploads).toBe(0);
    const record = await harness.dependencies.metadataStore.get("delivered-presigned");
    expect(record?.imageDelivery).toBe("presigned");
    // The presigned URL existed only inside the submit step: not in the record, the events, or any step output.
    const stepOutputs = await stepOutputsOf(
      sampleRequest({ generation_id: "delivered-presigned-journal", prompt: "journaled" }),
      harness.dependencies,
      { runId: "delivered-presigned-journal", clock: fast },
    );
    expect(stepOutputs).toContain('"submit"');
    expect(harness.sandbox.tasks().at(-1)?.image.source).toBe("url");
    for (const haystack of [JSON.stringify(record), seen.join("\n"), stepOutputs]) {
      expect(haystack).not.toMatch(/X-Amz-Signature|X-Amz-Credential|X-Amz-Date/);
    }
  });

  it("from the local directory store: DashScope's temporary upload", async () => {
    harness = await startStageHarness();
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "delivered-upload" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(outcome.status).toBe("succeeded");
    expect(harness.sandbox.tasks()[0]?.image.source).toBe("oss");
    expect(harness.sandbox.stats().uploads).toBe(1);
    expect((await harness.dependencies.metadataStore.get("delivered-upload"))?.imageDelivery).toBe("upload");
  });

  it("inline as a data: URI when small enough and so configured", async () => {
    harness = await startStageHarness({
      environment: { DASHSCOPE_INLINE_IMAGE_MAX_BYTES: String(1024 * 1024) },
    });
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "delivered-inline" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(outcome.status).toBe("succeeded");
    expect(harness.sandbox.tasks()[0]?.image.source).toBe("data");
    expect(harness.sandbox.stats().uploads).toBe(0);
    expect((await harness.dependencies.metadataStore.get("delivered-inline"))?.imageDelivery).toBe(
      "data-uri",
    );
  });

  it("never presigns an S3-compatible store the internet cannot reach (no S3_PUBLIC_BASE_URL)", async () => {
    const { environment } = s3Environment();
    harness = await startStageHarness({ environment });
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "delivered-private" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(outcome.status).toBe("succeeded");
    expect(harness.sandbox.tasks()[0]?.image.source).toBe("oss");
    expect((await harness.dependencies.metadataStore.get("delivered-private"))?.imageDelivery).toBe("upload");
  });
});
