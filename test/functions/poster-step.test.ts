import { readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createPosterMaker } from "../../src/media/make-poster.ts";
import { videoKeyOfRecord } from "../../src/metadata/media-keys.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import { requireFfmpeg } from "../helpers/ffprobe-video.ts";
import { measureLuma } from "../helpers/poster-clips.ts";
import { s3TestTarget } from "../helpers/s3-test-target.ts";
import {
  acceleratedClock,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";
import { stepOutputsOf } from "../helpers/step-journal.ts";

const fast = acceleratedClock(20);
const { ffmpeg } = requireFfmpeg();

let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Runs one generation in process and returns every step's output by step id. */
async function journaledRun(
  stage: StageHarness,
  request: Record<string, unknown>,
): Promise<Map<string, unknown>> {
  const text = await stepOutputsOf(request, stage.dependencies, {
    runId: `run-${String(request.generation_id)}`,
    clock: fast,
  });
  return new Map(JSON.parse(text) as Array<[string, unknown]>);
}

/** Mean luma and size of a poster's bytes, decoded by ffmpeg. */
async function posterFacts(stage: StageHarness, bytes: Uint8Array, name: string) {
  const file = path.join(stage.outputDir, name);
  await writeFile(file, bytes);
  return measureLuma(ffmpeg, file);
}

describe("the poster step", () => {
  it("makes a WebP poster beside the stored video, records its key and returns only the key", async () => {
    harness = await startStageHarness();
    const steps = await journaledRun(harness, sampleRequest({ generation_id: "poster-fresh" }));

    const record = await harness.dependencies.metadataStore.get("poster-fresh");
    expect(record?.status).toBe("succeeded");
    const videoKey = videoKeyOfRecord(record!);
    expect(videoKey).toBe(`videos/${record!.cacheKey}.mp4`);
    expect(record?.posterKey).toBe(`posters/${record!.cacheKey}.webp`);
    expect(steps.get("poster")).toEqual({ posterKey: record?.posterKey });
    expect([...steps.keys()].slice(-4)).toEqual(["copy", "poster", "persist", "notify:payload"]);
    expect(record?.result?.warnings.filter((warning) => warning.field === "poster")).toEqual([]);

    const posterPath = path.join(harness.outputDir, record!.posterKey!);
    const poster = await readFile(posterPath);
    expect(poster.toString("latin1", 8, 12)).toBe("WEBP");
    const facts = await posterFacts(harness, poster, "fresh.webp");
    expect(facts).toMatchObject({ width: 640, height: 360 });
    expect(facts.meanLuma).toBeGreaterThan(20);

    // The reference image's stored copy is recorded too, for the gallery.
    expect(record?.imageKey).toMatch(/^images\/[0-9a-f]{64}\.jpg$/);
    expect(await harness.dependencies.objectStore.exists(record!.imageKey!)).toBe(true);
  });

  it("reuses the source's poster on a cache hit, and makes it for a source that has none", async () => {
    harness = await startStageHarness();
    const { metadataStore } = harness.dependencies;
    const first = await generateInProcess(
      sampleRequest({ generation_id: "poster-source" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(first.status).toBe("succeeded");
    const source = await metadataStore.get("poster-source");
    const posterPath = path.join(harness.outputDir, source!.posterKey!);
    const madeAt = (await stat(posterPath)).mtimeMs;

    const hit = await journaledRun(harness, sampleRequest({ generation_id: "poster-hit" }));
    expect(hit.get("cache-check")).toBeTruthy();
    expect(hit.get("poster")).toEqual({ posterKey: source!.posterKey });
    expect((await metadataStore.get("poster-hit"))?.posterKey).toBe(source!.posterKey);
    expect((await stat(posterPath)).mtimeMs).toBe(madeAt);

    // A source made before posters existed: no key, no file. The next cache hit makes it and records it on both.
    await metadataStore.recordPoster("poster-source", null);
    await rm(posterPath);
    const late = await generateInProcess(
      sampleRequest({ generation_id: "poster-late" }),
      harness.dependencies,
      {
        clock: fast,
      },
    );
    expect(late).toMatchObject({ status: "succeeded", response: { cache_hit: true } });
    expect((await metadataStore.get("poster-late"))?.posterKey).toBe(source!.posterKey);
    expect((await metadataStore.get("poster-source"))?.posterKey).toBe(source!.posterKey);
    expect((await stat(posterPath)).isFile()).toBe(true);
    expect(harness.sandbox.stats().tasksCreated).toBe(1);
  });

  it("turns a poster failure into a warning: the generation succeeds, without a poster key", async () => {
    harness = await startStageHarness();
    const broken = path.join(harness.outputDir, "no-such-ffmpeg");
    const dependencies = { ...harness.dependencies, makePoster: createPosterMaker({ ffmpegPath: broken }) };

    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "poster-broken", cache: "bypass" }),
      dependencies,
      { clock: fast },
    );

    expect(outcome.status).toBe("succeeded");
    if (outcome.status !== "succeeded") return;
    expect(outcome.response.warnings).toContainEqual(
      expect.objectContaining({
        field: "poster",
        reason: expect.stringMatching(/^no poster was made: ffmpeg/),
      }),
    );
    const record = await harness.dependencies.metadataStore.get("poster-broken");
    expect(record).toMatchObject({ status: "succeeded", posterKey: null });
    expect(record?.result?.warnings.some((warning) => warning.field === "poster")).toBe(true);
    const stored = fileURLToPath(outcome.response.storage_uri);
    expect((await stat(stored)).size).toBe(outcome.response.bytes);
  });

  it("reads an S3 video through a temporary file and stores the poster in the same bucket", async () => {
    const target = s3TestTarget();
    target.client.destroy();
    harness = await startStageHarness({
      environment: {
        S3_BUCKET: target.bucket,
        S3_ENDPOINT: target.endpoint,
        S3_REGION: target.region,
        S3_PREFIX: target.prefix,
        AWS_ACCESS_KEY_ID: target.accessKeyId,
        AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
      },
    });
    const { objectStore, metadataStore } = harness.dependencies;

    const steps = await journaledRun(harness, sampleRequest({ generation_id: "poster-s3" }));

    const record = await metadataStore.get("poster-s3");
    expect(record?.result?.storage_uri).toBe(
      `s3://${target.bucket}/${target.prefix}videos/${record!.cacheKey}.mp4`,
    );
    expect(steps.get("poster")).toEqual({ posterKey: `posters/${record!.cacheKey}.webp` });
    expect(record?.posterKey).toBe(`posters/${record!.cacheKey}.webp`);
    expect(await objectStore.stat(record!.posterKey!)).toMatchObject({ contentType: "image/webp" });
    const opened = await objectStore.openRead(record!.posterKey!);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    const facts = await posterFacts(harness, Buffer.concat(chunks), "s3.webp");
    expect(facts).toMatchObject({ width: 640, height: 360 });
    expect(facts.meanLuma).toBeGreaterThan(20);
  });
});
