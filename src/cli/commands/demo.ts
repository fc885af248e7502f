import { Command } from "commander";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/**
 * `video-gen demo`: the first run on a fresh machine: the sandbox in this process and one generation from the shipped
 * image into OUTPUT_DIR. Run it twice: the second is a cache hit.
 */
export function demoCommand(runner: CommandRunner): Command {
  const command = new Command("demo")
    .description("first run: generate a video against a built-in local sandbox (no API key, no servers)")
    .action(() => runner.run(async () => (await import("../actions/demo.ts")).runDemo(runner.io)));
  return withEnvironmentHelp(command, COMMAND_VARIABLES.demo);
}
