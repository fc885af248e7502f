import { Command } from "commander";
import type { TotalsFlags } from "../actions/totals.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/** `video-gen totals`: counts, rendered seconds and estimated cost. */
export function totalsCommand(runner: CommandRunner): Command {
  const command = new Command("totals")
    .description("count generations, rendered seconds and estimated cost")
    .option("--since <when>", "only created since: 30m, 1h, 2d or an ISO time")
    .option("--json", "print the totals as JSON")
    .action((flags: TotalsFlags) =>
      runner.run(async () => (await import("../actions/totals.ts")).runTotals(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.totals);
}
