import { chmod, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VideoGenerateResponse } from "../../src/contract/video-generate-response.ts";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  type MetadataStore,
  type SqlClient,
} from "../../src/metadata/index.ts";
import { requireFfmpeg } from "../helpers/ffprobe-video.ts";
import { measureLuma } from "../helpers/poster-clips.ts";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { runCli } from "./cli-process.ts";

let fixture: CliFixture;
let sql: SqlClient;
let store: MetadataStore;
/** Two renders and one cache hit of the first, made by real `generate` runs against the sandbox. */
let rendered: VideoGenerateResponse[];

async function generate(prompt: string, generationId: string): Promise<VideoGenerateResponse> {
  const result = await runCli(
    [
      ...["generate", "--image", SAMPLE_IMAGE_PATH, "--prompt", prompt, "--duration", "2"],
      ...["--generation-id", generationId, "--json"],
    ],
    fixture.environment(),
  );
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as VideoGenerateResponse;
}

/** Makes every record look as it did before posters and image keys were recorded. */
async function forgetMedia() {
  await sql.query("UPDATE generations SET poster_key = NULL, image_key = NULL");
  await rm(path.join(fixture.outputDir, "posters"), { recursive: true, force: true });
}

async function backfill(extra: string[] = [], environment: Record<string, string> = {}) {
  return runCli(["posters", "--backfill", "--json", ...extra], fixture.environment(environment));
}

beforeAll(async () => {
  fixture = await startCliFixture();
  sql = createPgSqlClient({ connectionString: fixture.databaseUrl });
  store = createPostgresMetadataStore({ sql });
  rendered = [
    await generate("a lighthouse at dusk, poster backfill", "backfill-a"),
    await generate("a lighthouse at dusk, poster backfill", "backfill-a-again"),
    await generate("waves at noon, poster backfill", "backfill-b"),
  ];
}, 180_000);

afterAll(async () => {
  await store?.close();
  await fixture?.close();
});

describe("video-gen posters --backfill", () => {
  it("makes the missing posters once per video, records every key, and does nothing on a second run", async () => {
    expect(rendered.map((response) => response.cache_hit)).toEqual([false, true, false]);
    // The generations made their posters themselves; the backfill is for records from before.
    expect((await store.get("backfill-a"))?.posterKey).toMatch(/^posters\/[0-9a-f]{64}\.webp$/);
    await forgetMedia();

    const first = await backfill();

    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      // The cache hit shares the first render's video: its poster is made once and reused.
      posters: { examined: 3, made: 2, reused: 1, missingVideo: 0, failed: 0 },
      // A cache hit never claimed, so its record has no image hash to find the stored copy by.
      image_keys: { examined: 2, recorded: 2, notFound: 0 },
    });
    const [a, again, b] = await Promise.all(
      ["backfill-a", "backfill-a-again", "backfill-b"].map((id) => store.get(id)),
    );
    expect(a?.posterKey).toBe(`posters/${a?.cacheKey}.webp`);
    expect(again?.posterKey).toBe(a?.posterKey);
    expect(b?.posterKey).toBe(`posters/${b?.cacheKey}.webp`);
    expect(a?.imageKey).toMatch(/^images\/[0-9a-f]{64}\.jpg$/);
    const posterPath = path.join(fixture.outputDir, b!.posterKey!);
    expect((await readFile(posterPath)).toString("latin1", 8, 12)).toBe("WEBP");
    const facts = await measureLuma(requireFfmpeg().ffmpeg, posterPath);
    expect(facts).toMatchObject({ width: 640, height: 360 });
    expect(facts.meanLuma).toBeGreaterThan(20);
    const madeAt = (await stat(posterPath)).mtimeMs;

    const second = await backfill();
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      posters: { examined: 0, made: 0, reused: 0, missingVideo: 0, failed: 0 },
      image_keys: { examined: 0, recorded: 0, notFound: 0 },
    });
    expect((await stat(posterPath)).mtimeMs).toBe(madeAt);
  }, 120_000);

  it("looks at no more than --limit records, newest first, and prints a summary", async () => {
    await forgetMedia();
    const limited = await runCli(["posters", "--backfill", "--limit", "1"], fixture.environment());
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stdout).toMatch(
      /Posters:\s+1 made, 0 reused, 0 failed, 0 without a stored video \(1 records/,
    );
    expect(limited.stdout).toMatch(/Image keys:\s+1 recorded, 0 not in the store/);
    expect((await store.get("backfill-b"))?.posterKey).not.toBeNull();
    expect((await store.get("backfill-a"))?.posterKey).toBeNull();
  }, 60_000);

  it("names each record it could not make a poster for, exits 5, and counts a deleted video apart", async () => {
    await forgetMedia();
    // A deleted video: nothing to make a poster from.
    const gone = await store.get("backfill-b");
    await rm(path.join(fixture.outputDir, "videos", path.basename(gone!.result!.storage_uri)));
    // An ffmpeg that starts (FFMPEG_PATH is checked with -version) but fails every real run.
    const broken = path.join(fixture.outputDir, "broken-ffmpeg");
    await writeFile(
      broken,
      '#!/bin/sh\n[ "$1" = "-version" ] && exit 0\necho "Conversion failed!" >&2\nexit 1\n',
    );
    await chmod(broken, 0o755);

    const result = await backfill([], { FFMPEG_PATH: broken });

    expect(result.code).toBe(5);
    expect(JSON.parse(result.stdout).posters).toEqual({
      examined: 3,
      made: 0,
      reused: 0,
      missingVideo: 1,
      failed: 2,
    });
    expect(result.stderr).toMatch(/no poster for backfill-a: ffmpeg exited with code 1: Conversion failed!/);
    expect(result.stderr).toMatch(/no poster for backfill-a-again: /);
    expect((await store.get("backfill-a"))?.posterKey).toBeNull();
  }, 60_000);

  it("refuses to run without --backfill (exit 2, naming the flag)", async () => {
    const result = await runCli(["posters"], fixture.environment());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--backfill");
  });
});
