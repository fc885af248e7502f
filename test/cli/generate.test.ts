import { existsSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { videoGenerateResponseSchema } from "../../src/contract/video-generate-response.ts";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { runCli } from "./cli-process.ts";

let fixture: CliFixture;
beforeAll(async () => {
  fixture = await startCliFixture();
});
afterAll(async () => {
  await fixture?.close();
});

const generateArgs = (prompt: string, extra: string[] = []) => [
  "generate",
  "--image",
  SAMPLE_IMAGE_PATH,
  "--prompt",
  prompt,
  "--duration",
  "2",
  ...extra,
];

describe("video-gen generate against the sandbox", () => {
  it("stores a real MP4, prints only the response with --json, and records it as succeeded", async () => {
    const result = await runCli(generateArgs("waves at sunset, json run", ["--json"]), fixture.environment());

    expect(result.code, result.stderr).toBe(0);
    const response = videoGenerateResponseSchema.parse(JSON.parse(result.stdout));
    expect(response).toMatchObject({ model: "wan2.6-i2v-flash", cache_hit: false, width: 1280, height: 720 });
    expect(response.generation_id).toMatch(/^cli-[0-9a-f]{20}$/);
    expect(response.duration).toBeCloseTo(2, 1);
    const file = new URL(response.video_url).pathname;
    expect(file.startsWith(`${fixture.outputDir}/videos/`)).toBe(true);
    expect(existsSync(file) && statSync(file).size).toBe(response.bytes);

    const shown = await runCli(["show", response.generation_id, "--json"], fixture.environment());
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      generationId: response.generation_id,
      status: "succeeded",
      taskId: response.task_id,
      result: { sha256: response.sha256 },
    });
  });

  it("answers the same command from the cache without calling the provider, and says so", async () => {
    const args = generateArgs("a sailboat drifts, cache run");
    const first = await runCli(args, fixture.environment());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Cache hit:\s+no/);
    const before = fixture.sandbox.stats();

    const second = await runCli(args, fixture.environment());

    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/Cache hit:\s+yes/);
    expect(second.stdout).toMatch(/Video:\s+\/.*\.mp4/);
    const after = fixture.sandbox.stats();
    expect(after.tasksCreated).toBe(before.tasksCreated);
    expect(after.statusQueries).toBe(before.statusQueries);

    const listed = await runCli(["list", "--status", "succeeded", "--json"], fixture.environment());
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBeGreaterThanOrEqual(2);
  });
});

describe("video-gen replay", () => {
  it("replays a request whose image was a data: URI from the stored copy; the cache answers unless --force", async () => {
    const image = `data:image/jpeg;base64,${(await readFile(SAMPLE_IMAGE_PATH)).toString("base64")}`;
    const requestFile = path.join(fixture.outputDir, "data-uri-request.json");
    await writeFile(
      requestFile,
      JSON.stringify({ prompt: "replay me", reference_image: image, duration: 2, generation_id: "original" }),
    );
    const original = await runCli(["generate", "--request", requestFile, "--json"], fixture.environment());
    expect(original.code, original.stderr).toBe(0);
    const tasksBefore = fixture.sandbox.stats().tasksCreated;

    const replay = await runCli(["replay", "original", "--json"], fixture.environment());

    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toMatch(
      /data: URI, which is not kept; replaying with the stored copy .*images\/[0-9a-f]{64}\.jpg/,
    );
    expect(JSON.parse(replay.stdout)).toMatchObject({ generation_id: "original-replay-1", cache_hit: true });
    expect(fixture.sandbox.stats().tasksCreated).toBe(tasksBefore);

    const forced = await runCli(["replay", "original", "--force", "--json"], fixture.environment());
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ generation_id: "original-replay-2", cache_hit: false });
    expect(fixture.sandbox.stats().tasksCreated).toBe(tasksBefore + 1);
  });
});

describe("video-gen exit codes", () => {
  it("exits 2 for a duration that is not a number, naming the flag, before any provider call", async () => {
    const before = fixture.sandbox.stats().tasksCreated;
    const result = await runCli(generateArgs("bad duration", ["--duration", "five"]), fixture.environment());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--duration must be a number");
    expect(result.stdout).toBe("");
    expect(fixture.sandbox.stats().tasksCreated).toBe(before);
  });

  it("exits 2 for a duration the model cannot render, naming the field", async () => {
    const result = await runCli(generateArgs("too long", ["--duration", "99"]), fixture.environment());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/duration must be a whole number of seconds from 2 to 15/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 3 for a bad base URL and for a missing API key, naming the variable", async () => {
    const badUrl = await runCli(
      generateArgs("config"),
      fixture.environment({ DASHSCOPE_HTTP_BASE_URL: "ftp://x" }),
    );
    expect(badUrl.code).toBe(3);
    expect(badUrl.stderr).toContain("DASHSCOPE_HTTP_BASE_URL");

    const noKey = await runCli(generateArgs("config"), fixture.environment({ DASHSCOPE_API_KEY: "" }));
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toContain("DASHSCOPE_API_KEY");
    expect(noKey.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 4 when the provider task fails, showing its code and message", async () => {
    fixture.sandbox.faults.failNextTasks({
      code: "DataInspectionFailed",
      message: "Input data may contain inappropriate content.",
    });
    const result = await runCli(
      generateArgs("provider failure", ["--cache", "bypass"]),
      fixture.environment(),
    );
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("DataInspectionFailed");
    expect(result.stderr).toContain("inappropriate content");
  });

  it("exits 5 when the result cannot be stored (larger than VIDEO_GEN_MAX_VIDEO_BYTES)", async () => {
    const result = await runCli(
      generateArgs("storage failure", ["--cache", "bypass"]),
      fixture.environment({ VIDEO_GEN_MAX_VIDEO_BYTES: "1000" }),
    );
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/cap of 1000 bytes/);
  });
});
