import { Command } from "commander";
import type { ShowFlags } from "../actions/show.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/** `video-gen show <id>`: one record. */
export function showCommand(runner: CommandRunner): Command {
  const command = new Command("show")
    .description("show one generation record")
    .argument("<id>", "generation id")
    .option("--json", "print the record as JSON")
    .action((id: string, flags: ShowFlags) =>
      runner.run(async () => (await import("../actions/show.ts")).runShow(runner.io, id, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.show);
}
