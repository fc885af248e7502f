import { afterEach, describe, expect, it } from "vitest";
import { exitCodeForCategory } from "../../src/cli/exit-codes.ts";
import { generateInProcess } from "../../src/runner/generate-in-process.ts";
import {
  acceleratedClock,
  type StageHarness,
  sampleRequest,
  startStageHarness,
} from "../helpers/stage-harness.ts";

/**
 * A key DashScope rejects (401 `InvalidApiKey`: wrong, revoked, or of another region) is a configuration problem: the
 * whole stage, wired as in production against the sandbox, ends the run at once as a configuration error that says
 * which settings to fix, and the CLI maps that category to exit code 3.
 */
describe("a rejected API key ends the run as a configuration error", () => {
  let harness: StageHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it("names DASHSCOPE_API_KEY and the region's setting, submits nothing, and is not retried", async () => {
    harness = await startStageHarness({ environment: { DASHSCOPE_API_KEY: "sk-from-another-region" } });
    const retries: string[] = [];
    const outcome = await generateInProcess(
      sampleRequest({ generation_id: "rejected-key" }),
      harness.dependencies,
      {
        clock: acceleratedClock(50),
        onStep: (event) => {
          if (event.kind === "step-retrying") retries.push(event.id);
        },
      },
    );
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "dashscope_api_key_rejected", category: "configuration" },
    });
    if (outcome.status !== "failed") return;
    expect(outcome.error.message).toContain("DashScope rejected the API key: 401 InvalidApiKey");
    expect(outcome.error.message).toContain("The key comes from DASHSCOPE_API_KEY");
    expect(outcome.error.message).toContain(`sent to ${harness.sandbox.baseUrl}`);
    expect(outcome.error.message).toContain("DASHSCOPE_HTTP_BASE_URL");
    expect(outcome.error.message).not.toContain("sk-from-another-region");
    expect(exitCodeForCategory(outcome.error.category)).toBe(3);
    expect(retries).toEqual([]);
    expect(harness.sandbox.stats().tasksCreated).toBe(0);
    expect(await harness.dependencies.metadataStore.get("rejected-key")).toMatchObject({
      status: "failed",
      errorCode: "dashscope_api_key_rejected",
    });
  });
});
