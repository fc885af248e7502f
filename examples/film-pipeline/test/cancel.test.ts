import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Inngest } from "inngest";
import { EVENT_NAMES } from "video-generate-stage";
import { shotCut, shotGenerationId, shotRequested } from "../src/film-events.ts";
import { createFilmPipeline } from "../src/film-pipeline.ts";
import { createInProcessHost, type InProcessHost } from "./in-process-host.ts";
import { SAMPLE_IMAGE, type StageFixture, startStageFixture } from "./stage-fixture.ts";

let fixture: StageFixture;
let host: InProcessHost;
let pipeline: ReturnType<typeof createFilmPipeline>;
const film = `c${Date.now().toString(36)}`;

// A long PENDING time at the provider: the cut lands while the task waits there, so it can still be canceled.
before(async () => {
  fixture = await startStageFixture({ pendingMs: 20_000, renderMs: 300 });
  pipeline = createFilmPipeline(new Inngest({ id: "film-pipeline" }), fixture.stage.dependencies);
  // A cut of a generation that already ended gets no `canceled` event: wait 3 s for it, not the function's 5 min.
  host = createInProcessHost(fixture.stage.dependencies, { maxWaitMs: 3_000 });
});
after(async () => {
  await host?.settle();
  await fixture?.close();
});

async function untilRecord(generationId: string, accept: (status: string | undefined) => boolean) {
  for (let attempt = 0; attempt < 300; attempt++) {
    const record = await fixture.stage.dependencies.metadataStore.get(generationId);
    if (accept(record?.status)) return record;
    await sleep(100);
  }
  throw new Error(`record ${generationId} never reached the expected status`);
}

describe("cut-shot, with the stage in process", () => {
  it("cancels a shot whose provider task is still PENDING: canceled event, record canceled, task canceled", async () => {
    const generationId = shotGenerationId(film, "1");
    await host.run(
      pipeline.requestShot,
      shotRequested.create({
        film_id: film,
        shot: { id: "1", image: SAMPLE_IMAGE, prompt: `${film}: a cut shot`, duration: 2 },
      }),
    );
    const submitted = await untilRecord(generationId, (status) => status === "submitted");
    assert.ok(submitted?.taskId, "the provider task was submitted");

    const canceledEvents: unknown[] = [];
    const unsubscribe = host.bus.subscribe((event) => {
      if (event.name === EVENT_NAMES.canceled) canceledEvents.push(event.data);
    });
    const result = await host.run(
      pipeline.cutShot,
      shotCut.create({ film_id: film, shot_id: "1", reason: "cut in the edit" }),
    );
    unsubscribe();

    assert.deepEqual(result, { generation_id: generationId, canceled: true, provider_task_canceled: true });
    assert.equal(canceledEvents.length, 1);
    assert.deepEqual((canceledEvents[0] as { correlation: unknown; reason: string }).correlation, {
      film,
      shot: "1",
    });
    const record = await untilRecord(generationId, (status) => status === "canceled");
    assert.equal(record?.status, "canceled");
    const task = await fixture.stage.dependencies.provider.status(String(submitted?.taskId));
    assert.equal(task.status, "canceled");
  });

  it("reports canceled: false when the shot's generation had already ended, and the stage emits nothing", async () => {
    const canceledEvents: unknown[] = [];
    const unsubscribe = host.bus.subscribe((event) => {
      if (event.name === EVENT_NAMES.canceled) canceledEvents.push(event.data);
    });
    const result = await host.run(
      pipeline.cutShot,
      shotCut.create({ film_id: film, shot_id: "1", reason: "again" }),
    );
    unsubscribe();
    assert.deepEqual(result, {
      generation_id: shotGenerationId(film, "1"),
      canceled: false,
      provider_task_canceled: false,
    });
    assert.equal(canceledEvents.length, 0);
  });
});
