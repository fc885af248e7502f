import { Command } from "commander";
import { InputError } from "../../errors/input-error.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { formatRecord } from "../format-output.ts";
import { withMetadataStore } from "../record-filters.ts";

/** `video-gen show <id>`: one record. */
export function showCommand(runner: CommandRunner): Command {
  const command = new Command("show")
    .description("show one generation record")
    .argument("<id>", "generation id")
    .option("--json", "print the record as JSON")
    .action((id: string, flags: { json?: boolean }) =>
      runner.run(async () => {
        const record = await withMetadataStore(runner, (store) => store.get(id));
        if (!record)
          throw InputError.forField(
            "id",
            `no generation ${JSON.stringify(id)} is recorded (see video-gen list)`,
          );
        runner.io.stdout.write(flags.json ? `${JSON.stringify(record, null, 2)}\n` : formatRecord(record));
        return 0;
      }),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.show);
}
