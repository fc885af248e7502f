import assert from "node:assert/strict";
import { open, stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Inngest } from "inngest";
import { EVENT_NAMES } from "video-generate-stage";
import {
  filmRenderRequested,
  shotGenerationId,
  shotRenderRequested,
  shotRequested,
} from "../src/film-events.ts";
import { createFilmPipeline } from "../src/film-pipeline.ts";
import { createInProcessHost, type InProcessHost } from "./in-process-host.ts";
import { SAMPLE_IMAGE, type StageFixture, startStageFixture } from "./stage-fixture.ts";

let fixture: StageFixture;
let host: InProcessHost;
let pipeline: ReturnType<typeof createFilmPipeline>;
// Each run renders anew: the cache would otherwise answer a second run of the suite from the first one's files.
const film = `f${Date.now().toString(36)}`;

before(async () => {
  fixture = await startStageFixture({ pendingMs: 200, renderMs: 300 });
  pipeline = createFilmPipeline(new Inngest({ id: "film-pipeline" }), fixture.stage.dependencies);
  host = createInProcessHost(fixture.stage.dependencies);
});
after(async () => {
  await host?.settle();
  await fixture?.close();
});

const shot = (id: string, prompt: string) => ({ id, image: SAMPLE_IMAGE, prompt, duration: 2 });

/** A stored, playable MP4: its `ftyp` box, and a size that matches the response. */
async function assertMp4(videoUrl: string, bytes: number) {
  const file = fileURLToPath(videoUrl);
  assert.equal((await stat(file)).size, bytes);
  const handle = await open(file);
  const head = Buffer.alloc(8);
  await handle.read(head, 0, 8, 0);
  await handle.close();
  assert.equal(head.subarray(4, 8).toString("latin1"), "ftyp");
}

describe("film pipeline, with the stage in process", () => {
  it("request-shot sends one request; the stage answers on video/generation.completed with its correlation", async () => {
    const generationId = shotGenerationId(film, "1");
    const completed = host.bus.waitFor(EVENT_NAMES.completed, {
      timeoutMs: 60_000,
      match: (event) => (event.data as { generation_id: string }).generation_id === generationId,
    });
    const result = await host.run(
      pipeline.requestShot,
      shotRequested.create({ film_id: film, shot: shot("1", `${film}: waves roll onto the shore`) }),
    );
    assert.deepEqual(result, { generation_id: generationId });
    const event = await completed;
    assert.ok(event, "no video/generation.completed within 60 s");
    const data = event.data as { correlation: unknown; video_url: string; bytes: number; duration: number };
    assert.deepEqual(data.correlation, { film, shot: "1" });
    assert.ok(Math.abs(data.duration - 2) < 0.2, `duration ${data.duration}`);
    await assertMp4(data.video_url, data.bytes);
    const record = await fixture.stage.dependencies.metadataStore.get(generationId);
    assert.equal(record?.status, "succeeded");
  });

  it("render-film fans out three shots and fans in on each one's completed event, matched by correlation", async () => {
    const filmId = `${film}-fan`;
    const shots = [
      shot("a", `${film}: a lighthouse at dusk`),
      shot("b", `${film}: a sailboat drifts`),
      shot("c", `${film}: gulls over the pier`),
    ];
    const result = (await host.run(
      pipeline.renderFilm,
      filmRenderRequested.create({ film_id: filmId, shots }),
    )) as {
      film_id: string;
      shots: Array<{ shot_id: string; generation_id: string | null; video_url: string | null }>;
    };
    assert.equal(result.film_id, filmId);
    assert.deepEqual(
      result.shots.map(({ shot_id, generation_id }) => ({ shot_id, generation_id })),
      shots.map(({ id }) => ({ shot_id: id, generation_id: shotGenerationId(filmId, id) })),
    );
    for (const { generation_id: generationId, video_url: videoUrl } of result.shots) {
      const record = await fixture.stage.dependencies.metadataStore.get(String(generationId));
      assert.equal(record?.status, "succeeded");
      assert.equal(videoUrl, record?.result?.video_url);
      await assertMp4(String(videoUrl), record?.result?.bytes ?? -1);
    }
    assert.equal(new Set(result.shots.map(({ video_url }) => video_url)).size, 3);
  });

  it("render-shot invokes the stage and gets its response in the same run", async () => {
    const result = (await host.run(
      pipeline.renderShot,
      shotRenderRequested.create({ film_id: film, shot: shot("invoked", `${film}: rain on a window`) }),
    )) as { url: string; seconds: number; cache_hit: boolean };
    assert.equal(result.cache_hit, false);
    assert.ok(Math.abs(result.seconds - 2) < 0.2, `seconds ${result.seconds}`);
    const record = await fixture.stage.dependencies.metadataStore.get(shotGenerationId(film, "invoked"));
    assert.equal(record?.result?.video_url, result.url);
    await assertMp4(result.url, record?.result?.bytes ?? -1);
  });

  it("render-shot fails with the stage's error code when the generation fails", async () => {
    await assert.rejects(
      host.run(
        pipeline.renderShot,
        shotRenderRequested.create({
          film_id: film,
          shot: { ...shot("bad", `${film}: too long`), duration: 99 },
        }),
      ),
      /render-shot failed: .*invalid_input.*duration/,
    );
    const record = await fixture.stage.dependencies.metadataStore.get(shotGenerationId(film, "bad"));
    assert.equal(record?.status, "failed");
  });
});
