import { Command } from "commander";
import type { SendFlags } from "../actions/send.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { addRequestOptions } from "../request-options.ts";

/** `video-gen send`: emits `video/generation.requested` to Inngest; a served `video-generate` function runs it. */
export function sendCommand(runner: CommandRunner): Command {
  const command = addRequestOptions(new Command("send"))
    .description("send a video/generation.requested event to Inngest (a running `serve` does the work)")
    .option("--json", "print { event_id, generation_id } as JSON")
    .addHelpText(
      "after",
      `
A local --image path is sent as an absolute path: the serving process reads it only under its REFERENCE_IMAGE_ROOT.
Prefer an https or s3:// URL for servers on other machines. A generation id (cli-<uuid>) is always set, so the run can
be canceled with \`video-gen cancel <id>\`.`,
    )
    .action((flags: SendFlags) =>
      runner.run(async () => (await import("../actions/send.ts")).runSend(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.send);
}
