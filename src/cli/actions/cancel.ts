import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { InputError } from "../../errors/input-error.ts";
import {
  cleanUpEvents,
  cleanUpGeneration,
  type GenerationEnding,
} from "../../functions/clean-up-generation.ts";
import { videoGenerationCancelRequested } from "../../functions/video-generation-events.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { canSendEvents, createCliInngestClient } from "../inngest-client.ts";

/** The flags of `video-gen cancel`, as commander parses them. */
export interface CancelFlags {
  reason: string;
}

/**
 * Cancels here (provider task canceled while PENDING, record canceled, budget slot freed) and, when Inngest is
 * configured, sends `video/generation.cancel-requested` so a served run stops at its next step, together with what
 * the stage's own cleanup would announce: `video/generation.canceled` (this command ended the record, so no function
 * will), `settled`, and `slot-granted` for a waiter the freed slot went to.
 */
export async function runCancel(io: CliIo, id: string, flags: CancelFlags): Promise<number> {
  const config = loadConfig(io.environment);
  const runtime = await composeStage(config);
  try {
    const { provider, metadataStore, settings } = runtime.dependencies;
    const record = await metadataStore.get(id);
    if (!record)
      throw InputError.forField("id", `no generation ${JSON.stringify(id)} is recorded (see video-gen list)`);
    const ending: GenerationEnding = { kind: "canceled", reason: flags.reason };
    const outcome = await cleanUpGeneration({ generationId: id, ending, provider, metadataStore, settings });
    if (!outcome.changed) {
      io.stdout.write(`Generation ${id} had already ended (${record.status}); nothing to cancel.\n`);
    } else {
      const task = outcome.taskId
        ? outcome.providerTaskCanceled
          ? `provider task ${outcome.taskId} canceled while PENDING (not billed)`
          : `provider task ${outcome.taskId} was already running: it finishes and is billed`
        : "no provider task had been submitted";
      io.stdout.write(`Generation ${id} canceled: ${task}; record marked canceled, budget slot freed.\n`);
    }
    const client = createCliInngestClient(config, io.environment);
    if (canSendEvents(client)) {
      try {
        const { ids } = await client.send([
          videoGenerationCancelRequested.create({ generation_id: id, reason: flags.reason }),
          ...cleanUpEvents(id, ending, outcome),
        ]);
        io.stdout.write(
          `Sent video/generation.cancel-requested (event ${ids[0] ?? "?"}): a served run stops too.\n`,
        );
      } catch (error) {
        warn(io, `could not send video/generation.cancel-requested to Inngest: ${(error as Error).message}`);
      }
    }
    return 0;
  } finally {
    await runtime.close();
  }
}
