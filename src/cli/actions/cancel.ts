import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { describeInngestUnreachable } from "../../net/inngest-unreachable.ts";
import { announceCancel, cancelGeneration } from "../../operations/cancel-generation.ts";
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
    const outcome = await cancelGeneration({
      generationId: id,
      reason: flags.reason,
      dependencies: runtime.dependencies,
    });
    if (!outcome.changed) {
      io.stdout.write(`Generation ${id} had already ended (${outcome.previousStatus}); nothing to cancel.\n`);
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
        const eventId = await announceCancel(client, id, flags.reason, outcome);
        io.stdout.write(
          `Sent video/generation.cancel-requested (event ${eventId ?? "?"}): a served run stops too.\n`,
        );
      } catch (error) {
        // The cancellation here is done (printed above); a served run was not told. An unreachable server is a
        // setting to fix, so it names the URL and its variables and exits 3; other failures stay a warning.
        const unreachable = describeInngestUnreachable(error, client, io.environment);
        if (unreachable) {
          throw new ConfigurationError(
            `canceled here, but video/generation.cancel-requested was not sent, so a served run was not told: ${unreachable.message}`,
            { code: "inngest_unreachable", cause: error },
          );
        }
        warn(io, `could not send video/generation.cancel-requested to Inngest: ${(error as Error).message}`);
      }
    }
    return 0;
  } finally {
    await runtime.close();
  }
}
