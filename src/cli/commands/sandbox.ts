import { Command } from "commander";
import type { SandboxFlags } from "../actions/sandbox.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/** `video-gen sandbox`: a local DashScope-compatible server (real MP4 renders with ffmpeg, nothing billed). */
export function sandboxCommand(runner: CommandRunner): Command {
  const command = new Command("sandbox")
    .description("run a local DashScope-compatible server to try the stage without an API key")
    .option("--port <port>", "port on 127.0.0.1 (0 picks a free one)", "8790")
    .option("--api-key <key>", "the API key it accepts (default: SANDBOX_API_KEY, else sk-sandbox)")
    .option("--pending-ms <ms>", "how long a task stays PENDING", "1000")
    .option("--render-ms <ms>", "how long a task stays RUNNING at least", "3000")
    .option(
      "--allow-image-host <host[:port]>",
      "a host whose http(s) image URLs (presigned ones too) the sandbox downloads, as DashScope downloads public ones; repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action((flags: SandboxFlags) =>
      runner.run(async () => (await import("../actions/sandbox.ts")).runSandbox(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.sandbox);
}
