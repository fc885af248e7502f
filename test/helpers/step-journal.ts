import type { StageContext, StageStepTools } from "../../src/functions/stage-context.ts";
import type { VideoGenerateDependencies } from "../../src/functions/video-generate-dependencies.ts";
import { runVideoGeneration } from "../../src/functions/video-generate-handler.ts";
import { EVENT_NAMES } from "../../src/functions/video-generation-events.ts";
import { runInProcess } from "../../src/runner/in-process-runner.ts";
import type { RunnerClock } from "../../src/runner/runner-clock.ts";

/**
 * Runs the handler in process with every step result, wait result and sent event kept, as Inngest's run state and
 * event log would hold them, and returns all of it as one text (with the run's error and its stack, if it failed):
 * the haystack for "no secret in step outputs".
 */
export async function stepOutputsOf(
  request: Record<string, unknown>,
  dependencies: VideoGenerateDependencies,
  options: { runId: string; clock: RunnerClock },
): Promise<string> {
  const journal = new Map<string, unknown>();
  const handler = (context: StageContext) => {
    const inner = context.step;
    const step: StageStepTools = {
      run: async (id, body) => {
        const value = await inner.run(id, body);
        journal.set(id, value);
        return value;
      },
      sleep: inner.sleep.bind(inner),
      waitForGenerationEvent: async (id, waitOptions) => {
        const value = await inner.waitForGenerationEvent(id, waitOptions);
        journal.set(id, value);
        return value;
      },
      sendEvent: async (id, payload) => {
        journal.set(`${id}:payload`, payload);
        return inner.sendEvent(id, payload);
      },
    };
    return runVideoGeneration(
      Object.create(context, { step: { value: step } }) as StageContext,
      dependencies,
    );
  };
  const error = await runInProcess(
    handler,
    { name: EVENT_NAMES.requested, data: request },
    { clock: options.clock, runId: options.runId, retries: 2 },
  ).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  return (
    JSON.stringify([...journal.entries()]) +
    String(error ?? "") +
    String((error as Error | undefined)?.stack ?? "")
  );
}
