import { Command, Option } from "commander";
import type { GenerationStatus } from "../../metadata/generation-record.ts";
import type { ListFlags } from "../actions/list.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

const STATUSES: GenerationStatus[] = [
  "pending",
  "submitted",
  "copying",
  "attached",
  "succeeded",
  "failed",
  "canceled",
];

/** `video-gen list`: recorded generations, newest first. */
export function listCommand(runner: CommandRunner): Command {
  const command = new Command("list")
    .description("list recorded generations, newest first")
    .addOption(new Option("--status <status>", "only this status").choices(STATUSES))
    .option("--since <when>", "only created since: 30m, 1h, 2d or an ISO time")
    .option("--correlation <key=value>", "only records whose correlation has key=value")
    .option("--limit <n>", "at most n records (default 50)")
    .option("--json", "print the records as JSON")
    .action((flags: ListFlags) =>
      runner.run(async () => (await import("../actions/list.ts")).runList(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.list);
}
