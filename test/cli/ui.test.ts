import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { type CliProcess, runCli, startCli } from "./cli-process.ts";

/**
 * `video-gen ui` as a person who only runs `generate` uses it: the embedded database, no API key, no Inngest server.
 * The gallery shows what `generate` made, streams its video, and a `generate` started while the page is open still
 * gets the database.
 */
let fixture: CliFixture;
let ui: CliProcess | undefined;
/** The embedded database under the fixture's OUTPUT_DIR, and no provider key: what `ui` needs and nothing more. */
const embedded = () => fixture.environment({ DATABASE_URL: "" });

async function generate(prompt: string, generationId: string) {
  return runCli(
    [
      "generate",
      "--image",
      SAMPLE_IMAGE_PATH,
      "--prompt",
      prompt,
      "--duration",
      "2",
      "--generation-id",
      generationId,
    ],
    embedded(),
  );
}

beforeAll(async () => {
  fixture = await startCliFixture();
  const first = await generate("a lighthouse at dusk, seen in the gallery", "ui-first");
  expect(first.code, first.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  ui?.child.kill("SIGKILL");
  await fixture?.close();
});

describe("video-gen ui", () => {
  it("serves what generate made, streams its video, and leaves the database to a generate run meanwhile", async () => {
    const { DASHSCOPE_API_KEY: _key, ...withoutKey } = embedded();
    ui = startCli(["ui", "--port", "0"], withoutKey);
    await ui.waitForOutput(/Gallery at http:\/\/127\.0\.0\.1:\d+\/gallery/, 60_000);
    const origin = /Gallery at (http:\/\/127\.0\.0\.1:\d+)\/gallery/.exec(ui.output().stdout)?.[1] ?? "";

    const page = await fetch(`${origin}/gallery`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("ui-first");
    expect(html).toContain('<img loading="lazy" src="/media/ui-first/poster"');

    const video = await fetch(`${origin}/media/ui-first/video.mp4`, { headers: { range: "bytes=0-1023" } });
    expect(video.status).toBe(206);
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect((await video.arrayBuffer()).byteLength).toBe(1024);

    // A generate while the gallery is open (and just answered) gets the embedded database.
    const second = await generate("waves at noon, made while the gallery is open", "ui-second");
    expect(second.code, second.stderr).toBe(0);

    let listed: Array<{ generation_id: string; status: string }> = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const answer = await fetch(`${origin}/api/generations`);
      // While another process holds the database the JSON says so (503) instead of showing stale records.
      if (answer.status === 200) {
        listed = ((await answer.json()) as { generations: typeof listed }).generations;
        if (listed.length === 2) break;
      } else {
        expect(answer.status).toBe(503);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(listed.map((generation) => generation.generation_id)).toEqual(["ui-second", "ui-first"]);

    ui.child.kill("SIGTERM");
    expect((await ui.exited(15_000)).code).toBe(0);
    ui = undefined;
  });

  it("refuses to serve beyond loopback without a token, naming the variable", async () => {
    const result = await runCli(["ui", "--port", "0", "--host", "0.0.0.0"], embedded());
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("VIDEO_GEN_UI_TOKEN");
  });
});
