import { Command } from "commander";
import type { PostersFlags } from "../actions/posters.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/** `video-gen posters --backfill`: posters (and image keys) for records made before they were recorded. */
export function postersCommand(runner: CommandRunner): Command {
  const command = new Command("posters")
    .description(
      "make posters for succeeded generations that have none (records made before posters existed)",
    )
    .option("--backfill", "make the missing posters, newest records first; safe to run again")
    .option("--limit <n>", "look at most at n records (default: all)")
    .option("--json", "print the summary as JSON")
    .action((flags: PostersFlags) =>
      runner.run(async () => (await import("../actions/posters.ts")).runPosters(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.posters);
}
