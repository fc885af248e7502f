import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import type { CliIo } from "./cli-io.ts";
import { createCommandRunner, reportError } from "./command-runner.ts";
import { cancelCommand } from "./commands/cancel.ts";
import { demoCommand } from "./commands/demo.ts";
import { generateCommand } from "./commands/generate.ts";
import { listCommand } from "./commands/list.ts";
import { postersCommand } from "./commands/posters.ts";
import { replayCommand } from "./commands/replay.ts";
import { sandboxCommand } from "./commands/sandbox.ts";
import { sendCommand } from "./commands/send.ts";
import { serveCommand } from "./commands/serve.ts";
import { showCommand } from "./commands/show.ts";
import { totalsCommand } from "./commands/totals.ts";
import { uiCommand } from "./commands/ui.ts";
import { EXIT_CODES } from "./exit-codes.ts";

/** The package's version, from its package.json (two levels up from both src/cli and dist/cli). */
function packageVersion(): string {
  const manifest = createRequire(import.meta.url)("../../package.json") as { version: string };
  return manifest.version;
}

/** The process's own streams and environment: the one place the CLI touches `process`. */
function processIo(argv: string[]): CliIo {
  return {
    environment: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stderr.isTTY === true,
    cwd: process.cwd(),
    verbose: argv.includes("--verbose") || Boolean(process.env.DEBUG),
  };
}

/**
 * Builds the `video-gen` program. Only the command definitions (flags, help) are loaded here; each command imports
 * its action, and with it the heavy modules (AWS SDK, PGlite, sharp, the Inngest SDK, the sandbox), when it runs, so
 * `--help` starts about as fast as Node itself.
 */
export function createProgram(io: CliIo): { program: Command; exitCode(): number } {
  const runner = createCommandRunner(io);
  const program = new Command("video-gen")
    .description(
      "video.generate: image-to-video with DashScope wan2.6-i2v-flash, stored as MP4 with a metadata record",
    )
    .version(packageVersion(), "-V, --version", "print the version of video-generate-stage")
    .option("--verbose", "print stack traces of unexpected errors")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  for (const command of [
    demoCommand(runner),
    generateCommand(runner),
    sendCommand(runner),
    serveCommand(runner),
    uiCommand(runner),
    listCommand(runner),
    showCommand(runner),
    totalsCommand(runner),
    postersCommand(runner),
    replayCommand(runner),
    cancelCommand(runner),
    sandboxCommand(runner),
  ]) {
    program.addCommand(
      command.exitOverride().configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
      }),
    );
  }
  return { program, exitCode: () => runner.exitCode };
}

/** Runs `video-gen` with these arguments (without `node` and the script) and returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo(argv)): Promise<number> {
  const { program, exitCode } = createProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; every other commander error is a usage error (bad or missing flag).
      return error.exitCode === 0 ? EXIT_CODES.success : EXIT_CODES.input;
    }
    return reportError(io, error);
  }
  return exitCode();
}
