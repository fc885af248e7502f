import { Command } from "commander";
import { InputError } from "../../errors/input-error.ts";
import { startSandbox } from "../../providers/sandbox/index.ts";
import { untilTerminated, warn } from "../cli-io.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

function wholeNumber(flag: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw InputError.forField(
      flag,
      `--${flag} must be a whole number from 0 to ${max}; got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** The variables that point the stage at a sandbox. */
export function sandboxEnvironment(sandbox: {
  baseUrl: string;
  apiKey: string;
  port: number;
}): Record<string, string> {
  return {
    DASHSCOPE_HTTP_BASE_URL: sandbox.baseUrl,
    DASHSCOPE_API_KEY: sandbox.apiKey,
    VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
  };
}

/** `video-gen sandbox`: a local DashScope-compatible server (real MP4 renders with ffmpeg, nothing billed). */
export function sandboxCommand(runner: CommandRunner): Command {
  const command = new Command("sandbox")
    .description("run a local DashScope-compatible server to try the stage without an API key")
    .option("--port <port>", "port on 127.0.0.1 (0 picks a free one)", "8790")
    .option("--api-key <key>", "the API key it accepts (default: SANDBOX_API_KEY, else sk-sandbox)")
    .option("--pending-ms <ms>", "how long a task stays PENDING", "1000")
    .option("--render-ms <ms>", "how long a task stays RUNNING at least", "3000")
    .action((flags: { port: string; apiKey?: string; pendingMs: string; renderMs: string }) =>
      runner.run(async () => {
        const { io } = runner;
        const sandbox = await startSandbox({
          port: wholeNumber("port", flags.port, 65_535),
          // The sandbox's key is not stage configuration, so it is not in loadConfig: it is read here.
          apiKey: flags.apiKey ?? (io.environment.SANDBOX_API_KEY || undefined),
          timings: {
            pendingMs: wholeNumber("pending-ms", flags.pendingMs, 600_000),
            renderMs: wholeNumber("render-ms", flags.renderMs, 600_000),
          },
        });
        const lines = Object.entries(sandboxEnvironment(sandbox)).map(
          ([name, value]) => `export ${name}=${value}`,
        );
        io.stdout.write(
          [
            `DashScope sandbox listening on ${sandbox.url} (API base ${sandbox.baseUrl}, key ${sandbox.apiKey})`,
            "Point the stage at it from another shell:",
            ...lines.map((line) => `  ${line}`),
            "then e.g.: video-gen generate --image fixtures/sample-reference.jpg --prompt 'waves at sunset' --duration 2",
            "Ctrl-C stops it.",
            "",
          ].join("\n"),
        );
        const signal = await untilTerminated();
        warn(io, `${signal}: stopping the sandbox`);
        await sandbox.close();
        return 0;
      }),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.sandbox);
}
