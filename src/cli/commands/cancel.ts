import { Command } from "commander";
import type { CancelFlags } from "../actions/cancel.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

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
    .action((id: string, flags: CancelFlags) =>
      runner.run(async () => (await import("../actions/cancel.ts")).runCancel(runner.io, id, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.cancel);
}
