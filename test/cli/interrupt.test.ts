import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { runCli, startCli } from "./cli-process.ts";

// Long PENDING time: the kill and the Ctrl-C land while the task waits at the provider.
let fixture: CliFixture;
beforeAll(async () => {
  fixture = await startCliFixture({ sandbox: { timings: { pendingMs: 3_000, renderMs: 500 } } });
});
afterAll(async () => {
  await fixture?.close();
});

const args = (prompt: string) => [
  "generate",
  "--image",
  SAMPLE_IMAGE_PATH,
  "--prompt",
  prompt,
  "--duration",
  "2",
  "--json",
];

describe("video-gen generate interrupted", () => {
  it("resumes the recorded task after kill -9 instead of submitting again", async () => {
    const before = fixture.sandbox.stats().tasksCreated;
    const first = startCli(args("resume after kill"), fixture.environment());
    // "rendering" is logged once the submit step has recorded the task id.
    await first.waitForOutput(/\] rendering/, 30_000);
    first.child.kill("SIGKILL");
    expect((await first.exited(10_000)).signal).toBe("SIGKILL");
    expect(fixture.sandbox.stats().tasksCreated).toBe(before + 1);

    const rerun = await runCli(args("resume after kill"), fixture.environment());

    expect(rerun.code, rerun.stderr).toBe(0);
    const response = JSON.parse(rerun.stdout) as { task_id: string; cache_hit: boolean };
    expect(fixture.sandbox.stats().tasksCreated).toBe(before + 1);
    expect(response.task_id).toBe(fixture.sandbox.tasks().at(-1)?.taskId);
    expect(response.cache_hit).toBe(false);
  });

  it("on Ctrl-C while PENDING cancels the provider task, records the cancel and exits 130", async () => {
    const running = startCli(args("interrupted while pending"), fixture.environment());
    await running.waitForOutput(/\] rendering/, 30_000);
    const task = fixture.sandbox.tasks().at(-1);
    expect(task?.status).toBe("PENDING");
    running.child.kill("SIGINT");

    const result = await running.exited(30_000);

    expect(result.code).toBe(130);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/canceled while PENDING/);
    expect(fixture.sandbox.tasks().find((candidate) => candidate.taskId === task?.taskId)?.status).toBe(
      "CANCELED",
    );
    const generationId = /generation (cli-[0-9a-f]{20}) canceled/.exec(result.stderr)?.[1];
    expect(generationId).toBeDefined();
    const shown = await runCli(["show", String(generationId), "--json"], fixture.environment());
    expect(JSON.parse(shown.stdout)).toMatchObject({ status: "canceled", taskId: task?.taskId });
  });
});
