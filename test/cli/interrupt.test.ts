import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { runCli, startCli } from "./cli-process.ts";
import { startEventApiRecorder } from "./event-api-recorder.ts";

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

  it("video-gen cancel of a task still PENDING cancels it and announces it as the stage would: cancel-requested, canceled once, settled", async () => {
    const eventApi = await startEventApiRecorder();
    // A provider queue long enough that the task is surely still PENDING when a second CLI process gets to it.
    const slow = await startCliFixture({ sandbox: { timings: { pendingMs: 60_000, renderMs: 300 } } });
    try {
      const running = startCli(
        [
          ...args("canceled from another shell"),
          "--generation-id",
          "cut-while-pending",
          "--correlation",
          "shot=9",
        ],
        slow.environment(),
      );
      await running.waitForOutput(/\] rendering/, 30_000);
      // The generating process is gone (as when it ran elsewhere); its record and provider task remain.
      running.child.kill("SIGKILL");
      await running.exited(10_000);
      const task = slow.sandbox.tasks().at(-1);
      expect(task?.status).toBe("PENDING");

      const result = await runCli(
        ["cancel", "cut-while-pending", "--reason", "cut in the edit"],
        slow.environment({ INNGEST_DEV: "1", INNGEST_BASE_URL: eventApi.url }),
      );

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/canceled while PENDING \(not billed\)/);
      expect(slow.sandbox.tasks().find((candidate) => candidate.taskId === task?.taskId)?.status).toBe(
        "CANCELED",
      );
      const names = eventApi.events().map((event) => event.name);
      expect(names.filter((name) => name === "video/generation.canceled")).toHaveLength(1);
      expect(names).toEqual(
        expect.arrayContaining(["video/generation.cancel-requested", "video/generation.settled"]),
      );
      expect(
        eventApi.events().find((event) => event.name === "video/generation.canceled")?.data,
      ).toMatchObject({
        generation_id: "cut-while-pending",
        task_id: task?.taskId,
        provider_task_canceled: true,
        reason: "cut in the edit",
        correlation: { shot: "9" },
      });

      // A second cancel finds it ended: it still reaches a served run, but announces no second ending.
      const again = await runCli(
        ["cancel", "cut-while-pending"],
        slow.environment({ INNGEST_DEV: "1", INNGEST_BASE_URL: eventApi.url }),
      );
      expect(again.stdout).toContain("already ended (canceled)");
      expect(eventApi.events().filter((event) => event.name === "video/generation.canceled")).toHaveLength(1);
    } finally {
      await eventApi.close();
      await slow.close();
    }
  });
});
