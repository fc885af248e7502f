import type { Command } from "commander";
import { isVideoGenerationError } from "../errors/video-generation-error.ts";
import { type CliIo, warn } from "./cli-io.ts";
import { environmentHelp } from "./environment-help.ts";
import { EXIT_CODES, exitCodeForError } from "./exit-codes.ts";

/** Runs a command's body and keeps its exit code; errors become a message and an exit code, never a crash. */
export interface CommandRunner {
  io: CliIo;
  run(body: () => Promise<number>): Promise<void>;
  exitCode: number;
}

export function createCommandRunner(io: CliIo): CommandRunner {
  const runner: CommandRunner = {
    io,
    exitCode: EXIT_CODES.success,
    async run(body) {
      try {
        runner.exitCode = await body();
      } catch (error) {
        runner.exitCode = reportError(io, error);
      }
    },
  };
  return runner;
}

/**
 * Expected errors (the VideoGenerationError family) print their message and code, no stack; anything else prints a
 * short message, and the stack with --verbose or DEBUG.
 */
export function reportError(io: CliIo, error: unknown): number {
  if (isVideoGenerationError(error)) {
    warn(io, `${error.message} [${error.code}]`);
    return exitCodeForError(error);
  }
  const message = error instanceof Error ? error.message : String(error);
  warn(io, `unexpected error: ${message}`);
  if (io.verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  else warn(io, "run with --verbose (or DEBUG=1) for the stack trace");
  return exitCodeForError(error);
}

/** Appends the command's environment variables to its --help. */
export function withEnvironmentHelp(command: Command, variables: readonly string[]): Command {
  return command.addHelpText("after", environmentHelp(variables));
}
