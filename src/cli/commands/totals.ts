import { Command } from "commander";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { formatTotals } from "../format-output.ts";
import { parseSince, withMetadataStore } from "../record-filters.ts";

/** `video-gen totals`: counts, rendered seconds and estimated cost. */
export function totalsCommand(runner: CommandRunner): Command {
  const command = new Command("totals")
    .description("count generations, rendered seconds and estimated cost")
    .option("--since <when>", "only created since: 30m, 1h, 2d or an ISO time")
    .option("--json", "print the totals as JSON")
    .action((flags: { since?: string; json?: boolean }) =>
      runner.run(async () => {
        const since = flags.since ? parseSince(flags.since) : undefined;
        const totals = await withMetadataStore(runner, (store) => store.totals({ since }));
        runner.io.stdout.write(flags.json ? `${JSON.stringify(totals, null, 2)}\n` : formatTotals(totals));
        return 0;
      }),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.totals);
}
