import { afterEach, describe, expect, it } from "vitest";
import { expectedRenderMs } from "../../src/functions/poll-schedule.ts";
import {
  estimateRenderMs,
  LEARNING_WINDOW,
  MIN_LEARNING_SAMPLES,
  type RecordedRender,
} from "../../src/functions/render-estimate.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import type { RunnerStepEvent } from "../../src/runner/in-process-runner.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";

const renders = (
  count: number,
  renderMs: number,
  duration = 5,
  resolution = "720P" as const,
): RecordedRender[] => Array.from({ length: count }, () => ({ duration, resolution, renderMs }));

describe("estimateRenderMs", () => {
  const table5s = expectedRenderMs({ duration: 5, resolution: "720P" });

  it("uses the table until a few renders of the same tier and duration bucket are recorded", () => {
    const few = renders(MIN_LEARNING_SAMPLES - 1, 20_000);
    expect(
      estimateRenderMs({ duration: 5, resolution: "720P", seedSeconds: undefined, recent: few }),
    ).toEqual({
      expectedMs: table5s,
      source: "table",
      samples: 0,
    });
    // Renders of another tier or bucket do not count.
    const elsewhere = [...renders(5, 20_000, 5, "1080P" as never), ...renders(5, 20_000, 12)];
    expect(
      estimateRenderMs({ duration: 5, resolution: "720P", seedSeconds: undefined, recent: elsewhere }).source,
    ).toBe("table");
  });

  it("learns the median of the recent renders, scaled to the requested duration", () => {
    const recent = [...renders(4, 20_000, 5), ...renders(1, 900_000, 5)];
    const learned = estimateRenderMs({ duration: 5, resolution: "720P", seedSeconds: undefined, recent });
    // The one stalled render does not move the median.
    expect(learned).toEqual({ expectedMs: 20_000, source: "learned", samples: 5 });
    const sixSeconds = estimateRenderMs({ duration: 6, resolution: "720P", seedSeconds: undefined, recent });
    const table6s = expectedRenderMs({ duration: 6, resolution: "720P" });
    expect(sixSeconds.expectedMs).toBe(Math.round((table6s * 20_000) / table5s));
  });

  it("takes only the newest renders: the service's speed drifts", () => {
    const recent = [...renders(LEARNING_WINDOW, 30_000), ...renders(3 * LEARNING_WINDOW, 90_000)];
    expect(
      estimateRenderMs({ duration: 5, resolution: "720P", seedSeconds: undefined, recent }).expectedMs,
    ).toBe(30_000);
  });

  it("VIDEO_GEN_RENDER_ESTIMATE_S seeds the estimate and is then corrected by what is recorded", () => {
    expect(estimateRenderMs({ duration: 5, resolution: "720P", seedSeconds: 3, recent: [] })).toEqual({
      expectedMs: 3_000,
      source: "setting",
      samples: 0,
    });
    expect(
      estimateRenderMs({ duration: 5, resolution: "720P", seedSeconds: 3, recent: renders(3, 12_000) }),
    ).toEqual({
      expectedMs: 12_000,
      source: "learned",
      samples: 3,
    });
  });
});

let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("the poll schedule on this deployment's own render times", () => {
  it("finds renders much longer than its estimate within a few seconds, without polling busily, once it has learned", async () => {
    // The estimate says 1 s; the sandbox takes 6 s to render. Real time: no accelerated clock.
    harness = await startStageHarness({ sandbox: { timings: { pendingMs: 200, renderMs: 6_000 } } });
    const jobs: Array<{ checks: number; lagMs: number }> = [];
    for (let job = 0; job < 4; job++) {
      let checks = 0;
      let lastCheckAt = 0;
      const outcome = await generateInProcess(
        sampleRequest({ prompt: `learning job ${job}`, generation_id: `learning-${job}` }),
        harness.dependencies,
        {
          onStep: (event: RunnerStepEvent) => {
            if (event.kind === "step-completed" && event.id.startsWith("poll-")) {
              checks++;
              lastCheckAt = Date.now();
            }
          },
        },
      );
      expect(outcome.status).toBe("succeeded");
      const task = harness.sandbox.tasks().at(-1)!;
      jobs.push({ checks, lagMs: lastCheckAt - (task.endTime ?? 0) });
    }
    const [first, , , fourth] = jobs;
    // The first job, on the 1 s estimate, polls about every second through the whole render.
    expect(first!.checks).toBeGreaterThanOrEqual(5);
    // Once three renders are recorded, the schedule expects about 6 s: two or three checks, found quickly.
    expect(fourth!.checks).toBeLessThanOrEqual(3);
    expect(fourth!.checks).toBeLessThan(first!.checks);
    expect(fourth!.lagMs).toBeLessThan(3_000);
  }, 120_000);
});
