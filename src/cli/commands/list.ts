import { Command, Option } from "commander";
import type { GenerationStatus, ListFilter } from "../../metadata/generation-record.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { formatRecordTable } from "../format-output.ts";
import { parseKeyValue, parseLimit, parseSince, withMetadataStore } from "../record-filters.ts";

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
    .action(
      (flags: {
        status?: GenerationStatus;
        since?: string;
        correlation?: string;
        limit?: string;
        json?: boolean;
      }) =>
        runner.run(async () => {
          const filter: ListFilter = { status: flags.status };
          if (flags.since) filter.since = parseSince(flags.since);
          if (flags.limit) filter.limit = parseLimit(flags.limit);
          if (flags.correlation) filter.correlation = parseKeyValue("correlation", flags.correlation);
          const records = await withMetadataStore(runner, (store) => store.list(filter));
          runner.io.stdout.write(
            flags.json ? `${JSON.stringify(records, null, 2)}\n` : formatRecordTable(records),
          );
          return 0;
        }),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.list);
}
