import { Command } from "commander";
import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { InputError } from "../../errors/input-error.ts";
import { cleanUpGeneration } from "../../functions/clean-up-generation.ts";
import { videoGenerationCancelRequested } from "../../functions/video-generation-events.ts";
import { warn } from "../cli-io.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { canSendEvents, createCliInngestClient } from "../inngest-client.ts";

/**
 * `video-gen cancel <id>`: cancels here (provider task canceled while PENDING, record canceled, budget slot freed) and,
 * when Inngest is configured, also sends `video/generation.cancel-requested` so a served run stops at its next step.
 */
export function cancelCommand(runner: CommandRunner): Command {
  const command = new Command("cancel")
    .description(
      "cancel a generation: provider task (while PENDING), record, budget slot, and the Inngest run",
    )
    .argument("<id>", "generation id")
    .option("--reason <text>", "why (kept in the record and the canceled event)", "canceled from the CLI")
    .action((id: string, flags: { reason: string }) =>
      runner.run(async () => {
        const { io } = runner;
        const config = loadConfig(io.environment);
        const runtime = await composeStage(config);
        try {
          const { provider, metadataStore } = runtime.dependencies;
          const record = await metadataStore.get(id);
          if (!record)
            throw InputError.forField(
              "id",
              `no generation ${JSON.stringify(id)} is recorded (see video-gen list)`,
            );
          const outcome = await cleanUpGeneration({
            generationId: id,
            ending: { kind: "canceled", reason: flags.reason },
            provider,
            metadataStore,
          });
          if (!outcome.changed) {
            io.stdout.write(`Generation ${id} had already ended (${record.status}); nothing to cancel.\n`);
          } else {
            const task = outcome.taskId
              ? outcome.providerTaskCanceled
                ? `provider task ${outcome.taskId} canceled while PENDING (not billed)`
                : `provider task ${outcome.taskId} was already running: it finishes and is billed`
              : "no provider task had been submitted";
            io.stdout.write(
              `Generation ${id} canceled: ${task}; record marked canceled, budget slot freed.\n`,
            );
          }
          const client = createCliInngestClient(config, io.environment);
          if (canSendEvents(client)) {
            try {
              const { ids } = await client.send(
                videoGenerationCancelRequested.create({ generation_id: id, reason: flags.reason }),
              );
              io.stdout.write(
                `Sent video/generation.cancel-requested (event ${ids[0] ?? "?"}): a served run stops too.\n`,
              );
            } catch (error) {
              warn(
                io,
                `could not send video/generation.cancel-requested to Inngest: ${(error as Error).message}`,
              );
            }
          }
          return 0;
        } finally {
          await runtime.close();
        }
      }),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.cancel);
}
