import { Command } from "commander";
import type { GenerateFlags } from "../actions/generate.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { addRequestOptions } from "../request-options.ts";

/** `video-gen generate`: one request, in this process, against the configured provider and stores. */
export function generateCommand(runner: CommandRunner): Command {
  const command = addRequestOptions(new Command("generate"))
    .description("generate a video in this process (no Inngest server needed) and print where it is")
    .option("--json", "print only the response JSON on stdout (progress and errors go to stderr)")
    .addHelpText(
      "after",
      `
Without --generation-id and with cache "use", the id is cli-<hash of the request>: running the same command again
after it was killed resumes the recorded provider task instead of submitting (and paying) again.
Ctrl-C cancels: a PENDING provider task is canceled, the record is marked canceled, exit code 130.

Exit codes: 0 ok, 2 bad input, 3 configuration, 4 provider failed/rejected/timed out, 5 storage, 130 canceled, 1 other.`,
    )
    .action((flags: GenerateFlags) =>
      runner.run(async () => (await import("../actions/generate.ts")).runGenerate(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.generate);
}
