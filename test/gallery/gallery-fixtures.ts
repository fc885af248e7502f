import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_PRICE_TABLE, estimateCost } from "../../src/contract/cost-estimate.ts";
import type { VideoGenerateResponse } from "../../src/contract/video-generate-response.ts";
import { createPosterMaker } from "../../src/media/make-poster.ts";
import { storePoster } from "../../src/media/store-poster.ts";
import type { GenerationStatus } from "../../src/metadata/generation-record.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { type CameraMove, REFERENCE_IMAGE, renderTake } from "./gallery-clips.ts";

/** The prompt that tries to run script in the operator's browser; the pages must show it as text. */
export const SCRIPT_PROMPT = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>";

/** The model's render of a 5 s 720P take, in the fixtures' recorded timings and the live take's estimate, seconds. */
export const RENDER_ESTIMATE_S = 180;

const CLIP_SECONDS = 5;
const MODEL = "wan2.6-i2v-flash";
const SHOT_PROMPT =
  "Slow push-in over the lake at sunset; the sailboat drifts left, gentle ripples on the water";

/** One generation the gallery must show, as the test expects to see it. */
export interface GalleryFixture {
  id: string;
  status: GenerationStatus;
  prompt: string;
  seed: number;
  correlation: Record<string, string>;
  /** Succeeded takes: what was stored and measured. */
  stored?: {
    videoKey: string;
    posterKey: string;
    /** The stored MP4's bytes, for comparing ranges. */
    bytes: Buffer;
    durationSeconds: number;
    cost: number;
  };
  error?: { code: string; message: string };
}

/** Everything seeded, newest first (the grid's order). */
export interface GalleryFixtures {
  all: GalleryFixture[];
  byId(id: string): GalleryFixture;
  /** The takes of correlation group `{ shot: "s1" }`, oldest first. */
  shotTakes: GalleryFixture[];
  /** The generation still rendering. */
  live: GalleryFixture;
  scriptPrompt: GalleryFixture;
  failed: GalleryFixture;
  canceled: GalleryFixture;
  /** A succeeded take whose recorded result carries a signed URL (it must never reach a page). */
  signedUrlTake: GalleryFixture;
  totals: {
    count: number;
    succeeded: number;
    failed: number;
    canceled: number;
    seconds: number;
    cost: number;
  };
}

interface TakePlan {
  id: string;
  prompt: string;
  seed: number;
  shot: string;
  move: CameraMove;
  /** The provider's render time, ms (the live take's estimate learns from these). */
  renderMs: number;
  /** Put a signed S3 URL into the recorded result, as a misconfigured store might have. */
  signedVideoUrl?: boolean;
}

/**
 * Records the gallery's generations through the real metadata store, with real media in the real object store: takes
 * rendered by ffmpeg, posters made by the stage's poster maker, the stored reference image. Records are created in
 * this order, so the grid shows them in reverse: the script prompt (oldest), three takes of shot s1, a failed
 * generation, a canceled one, and one still rendering (submitted now: its estimated progress advances).
 */
export async function seedGalleryFixtures(input: {
  store: MetadataStore;
  objectStore: ObjectStore;
  ffmpegPath: string;
  /** A scratch directory for the rendered clips. */
  workDir: string;
}): Promise<GalleryFixtures> {
  const { store, objectStore, ffmpegPath, workDir } = input;
  const makePoster = createPosterMaker({ ffmpegPath });
  const image = await readFile(REFERENCE_IMAGE);
  const imageKey = `images/${createHash("sha256").update(image).digest("hex")}.jpg`;
  await objectStore.putBytes(imageKey, image, "image/jpeg");

  const takes: TakePlan[] = [
    {
      id: "lake-s2-take-1",
      prompt: SCRIPT_PROMPT,
      seed: 4404,
      shot: "s2",
      move: "pull-out",
      renderMs: 176_000,
    },
    { id: "lake-s1-take-1", prompt: SHOT_PROMPT, seed: 1101, shot: "s1", move: "push-in", renderMs: 181_000 },
    {
      id: "lake-s1-take-2",
      prompt: SHOT_PROMPT,
      seed: 2202,
      shot: "s1",
      move: "pan-right",
      renderMs: 184_000,
      signedVideoUrl: true,
    },
    {
      id: "lake-s1-take-3",
      prompt: SHOT_PROMPT.replace("at sunset;", "at sunset, warmer light;"),
      seed: 3303,
      shot: "s1",
      move: "push-in-warm",
      renderMs: 179_000,
    },
  ];
  // Two ffmpeg processes at a time: the machine has two cores.
  const clips = new Map<string, string>();
  for (let index = 0; index < takes.length; index += 2) {
    await Promise.all(
      takes.slice(index, index + 2).map(async (take) => {
        const clip = path.join(workDir, `${take.id}.mp4`);
        clips.set(take.id, await renderTake(ffmpegPath, clip, { move: take.move, seconds: CLIP_SECONDS }));
      }),
    );
  }

  const created: GalleryFixture[] = [];
  for (const take of takes) {
    const request = requestOf(take.id, take.prompt, take.seed, { shot: take.shot });
    await store.upsertGeneration(generationInput(take.id, request, { shot: take.shot }));
    await store.recordImageKey(take.id, imageKey);
    await store.recordSubmitted(take.id, {
      taskId: `task-${take.id}`,
      providerRequestId: `req-${take.id}`,
      resolution: "720P",
      duration: CLIP_SECONDS,
      imageDelivery: "presigned",
    });
    await store.recordProgress(take.id, { stage: "copy", status: "copying", providerStatus: "SUCCEEDED" });
    const videoKey = `videos/${createHash("sha256").update(take.id).digest("hex")}.mp4`;
    const stored = await objectStore.putVideoFile(clips.get(take.id) ?? "", videoKey);
    const cost = estimateCost(DEFAULT_PRICE_TABLE, "720P", false, stored.media.durationSeconds);
    const response: VideoGenerateResponse = {
      generation_id: take.id,
      video_url: take.signedVideoUrl
        ? `https://renders.s3.eu-central-1.amazonaws.com/${videoKey}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=${"ab".repeat(32)}`
        : stored.url,
      storage_uri: stored.uri,
      duration: stored.media.durationSeconds,
      fps: stored.media.fps,
      width: stored.media.width,
      height: stored.media.height,
      bytes: stored.bytes,
      sha256: stored.sha256,
      content_type: stored.contentType,
      has_audio: stored.media.hasAudio,
      seed: take.seed,
      task_id: `task-${take.id}`,
      model: MODEL,
      cache_hit: false,
      warnings: [],
      usage: { duration: CLIP_SECONDS, SR: 720 },
      cost_estimate: cost,
      timings: { queued_ms: 2_400, render_ms: take.renderMs, copy_ms: 310, total_ms: take.renderMs + 4_100 },
    };
    await store.recordSucceeded(take.id, response);
    const poster = await storePoster({ objectStore, makePoster, videoKey });
    await store.recordPoster(take.id, poster.key);
    created.push({
      id: take.id,
      status: "succeeded",
      prompt: take.prompt,
      seed: take.seed,
      correlation: { shot: take.shot },
      stored: {
        videoKey,
        posterKey: poster.key,
        bytes: await readFile(clips.get(take.id) ?? ""),
        durationSeconds: stored.media.durationSeconds,
        cost: cost.amount,
      },
    });
  }

  const failedId = "lake-s3-take-1";
  const failedError = {
    code: "DataInspectionFailed",
    message: `DataInspectionFailed: Input data may contain inappropriate content. (task task-${failedId})`,
  };
  const failedPrompt = "The mountains crumble into the lake as a storm rolls in";
  await store.upsertGeneration(
    generationInput(failedId, requestOf(failedId, failedPrompt, 5505, { shot: "s3" }), { shot: "s3" }),
  );
  await store.recordImageKey(failedId, imageKey);
  await store.recordSubmitted(failedId, { taskId: `task-${failedId}`, resolution: "720P", duration: 5 });
  await store.recordFailed(failedId, failedError);
  created.push({
    id: failedId,
    status: "failed",
    prompt: failedPrompt,
    seed: 5505,
    correlation: { shot: "s3" },
    error: failedError,
  });

  const canceledId = "lake-s4-take-1";
  const canceledPrompt = "Night falls over the lake and the stars come out one by one";
  await store.upsertGeneration(
    generationInput(canceledId, requestOf(canceledId, canceledPrompt, 6606, { shot: "s4" }), { shot: "s4" }),
  );
  await store.recordCanceled(canceledId, { reason: "canceled from the CLI: wrong reference image" });
  created.push({
    id: canceledId,
    status: "canceled",
    prompt: canceledPrompt,
    seed: 6606,
    correlation: { shot: "s4" },
  });

  const liveId = "lake-s5-take-1";
  const livePrompt = "A flock of birds crosses the sky above the mountains, the sun sinks behind them";
  await store.upsertGeneration(
    generationInput(liveId, requestOf(liveId, livePrompt, 7707, { shot: "s5" }), { shot: "s5" }),
  );
  await store.recordImageKey(liveId, imageKey);
  await store.recordSubmitted(liveId, {
    taskId: `task-${liveId}`,
    providerRequestId: `req-${liveId}`,
    resolution: "720P",
    duration: CLIP_SECONDS,
    imageDelivery: "presigned",
  });
  await store.recordProgress(liveId, { stage: "rendering", providerStatus: "RUNNING" });
  created.push({
    id: liveId,
    status: "submitted",
    prompt: livePrompt,
    seed: 7707,
    correlation: { shot: "s5" },
  });

  const all = created.reverse();
  const byId = (id: string) => {
    const found = all.find((fixture) => fixture.id === id);
    if (!found) throw new Error(`no fixture ${id}`);
    return found;
  };
  const succeeded = all.filter((fixture) => fixture.status === "succeeded");
  return {
    all,
    byId,
    shotTakes: ["lake-s1-take-1", "lake-s1-take-2", "lake-s1-take-3"].map(byId),
    live: byId(liveId),
    scriptPrompt: byId("lake-s2-take-1"),
    failed: byId(failedId),
    canceled: byId(canceledId),
    signedUrlTake: byId("lake-s1-take-2"),
    totals: {
      count: all.length,
      succeeded: succeeded.length,
      failed: all.filter((fixture) => fixture.status === "failed").length,
      canceled: all.filter((fixture) => fixture.status === "canceled").length,
      seconds: succeeded.reduce((sum, fixture) => sum + (fixture.stored?.durationSeconds ?? 0), 0),
      cost: succeeded.reduce((sum, fixture) => sum + (fixture.stored?.cost ?? 0), 0),
    },
  };
}

/** The request as the stage records it (snake_case; the image URL without its query string). */
function requestOf(
  generationId: string,
  prompt: string,
  seed: number,
  correlation: Record<string, string>,
): Record<string, unknown> {
  return {
    prompt,
    reference_image: "https://images.example/lake-sunset.jpg",
    duration: CLIP_SECONDS,
    size: "1280*720",
    seed,
    audio: false,
    prompt_extend: true,
    watermark: false,
    unsupported: "warn",
    cache: "use",
    generation_id: generationId,
    correlation,
  };
}

function generationInput(
  generationId: string,
  request: Record<string, unknown>,
  correlation: Record<string, string>,
) {
  return {
    generationId,
    request,
    cacheMode: "use" as const,
    provider: "dashscope",
    model: MODEL,
    correlation,
    runId: `01JRUN${generationId
      .replace(/[^a-z0-9]/gi, "")
      .toUpperCase()
      .slice(0, 20)}`,
  };
}
