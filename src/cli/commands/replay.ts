import { Command } from "commander";
import type { ReplayFlags } from "../actions/replay.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/** `video-gen replay <id>`: runs a recorded request again in this process. */
export function replayCommand(runner: CommandRunner): Command {
  const command = new Command("replay")
    .description("run a recorded request again (the cache answers unless --force)")
    .argument("<id>", "generation id to replay")
    .option("--force", "render again (cache refresh) instead of answering from the cache")
    .option("--json", "print only the response JSON on stdout")
    .action((id: string, flags: ReplayFlags) =>
      runner.run(async () => (await import("../actions/replay.ts")).runReplay(runner.io, id, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.replay);
}
