import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HostApp, type Shot, startHostApp } from "./host-app.ts";
import { SAMPLE_IMAGE } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const engine = useDevEngine();
let hostApp: HostApp;
beforeAll(async () => {
  hostApp = await startHostApp(engine.server.url);
}, 180_000);
afterAll(async () => {
  await hostApp?.close();
});

describe("fan-out by sendEvent from a host app and fan-in on completed", () => {
  it("renders 8 shots, two of them identical, with one provider task per distinct request", async () => {
    const film = `film-${Date.now()}`;
    const shots: Shot[] = Array.from({ length: 8 }, (_, index) => ({
      id: String(index + 1),
      prompt: `shot ${index + 1} of ${film}: the tide comes in`,
    }));
    // Shot 8 asks for exactly what shot 7 asks for: same image, prompt and parameters, another generation id.
    shots[7] = { id: "8", prompt: shots[6]!.prompt };

    const [eventId] = await engine.api.sendEvents([
      { name: "film/render.requested", data: { film, image: SAMPLE_IMAGE, shots } },
    ]);
    const [filmRun] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(filmRun!.id, ["COMPLETED"], 180_000);

    // The orchestrator's own fan-in: every waitForEvent matched its shot's completed event.
    const { output } = await engine.api.run(filmRun!.id);
    const { urls } = output as { urls: Array<string | null> };
    expect(urls).toHaveLength(8);
    expect(urls.every((url) => typeof url === "string")).toBe(true);

    // The collector saw all 8 endings, all completions, each once.
    const endings = await waitForCollected(film, 8);
    expect(endings.map((ending) => ending.shot).sort()).toEqual(shots.map((shot) => shot.id).sort());
    expect(endings.every((ending) => ending.event === "video/generation.completed")).toBe(true);

    // Provider tasks = distinct requests: the identical pair shared one task.
    const tasks = engine.stage.sandbox.tasks();
    expect(tasks).toHaveLength(7);
    const seven = await engine.stage.metadataStore.get(`film-${film}-shot-7`);
    const eight = await engine.stage.metadataStore.get(`film-${film}-shot-8`);
    expect(seven?.status).toBe("succeeded");
    expect(eight?.status).toBe("succeeded");
    expect(eight?.result?.sha256).toBe(seven?.result?.sha256);
    for (const shot of shots) {
      expect((await engine.stage.metadataStore.get(`film-${film}-shot-${shot.id}`))?.status).toBe(
        "succeeded",
      );
    }
    expect(engine.stage.sandbox.stats().peakInFlight).toBeLessThanOrEqual(5);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 240_000);
});

async function waitForCollected(film: string, count: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const endings = hostApp.collected.filter((ending) => ending.film === film);
    if (endings.length >= count || Date.now() > deadline) return endings;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
