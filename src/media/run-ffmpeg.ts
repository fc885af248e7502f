import { spawn } from "node:child_process";

/** Bytes of ffmpeg's stderr kept for error messages: enough for the last few lines, bounded for long runs. */
const STDERR_TAIL_BYTES = 4096;

/** Why an ffmpeg run failed: its exit code or signal, and the end of what it printed. */
export class FfmpegFailure extends Error {
  override name = "FfmpegFailure";
  /** Exit code, or null when the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  /** Signal that ended the process (e.g. `SIGKILL`), or null. */
  readonly signal: NodeJS.Signals | null;
  /** The last lines ffmpeg wrote to stderr. */
  readonly stderrTail: string;
  /** True when the run was stopped through the caller's AbortSignal. */
  readonly aborted: boolean;

  constructor(
    message: string,
    details: {
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      stderrTail: string;
      aborted: boolean;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail;
    this.aborted = details.aborted;
  }
}

export interface RunFfmpegOptions {
  /** The ffmpeg binary (see `locateFfmpeg`). */
  ffmpegPath: string;
  /** Aborting kills ffmpeg with SIGKILL at once: a graceful SIGTERM would let it finish writing a file nobody wants. */
  signal?: AbortSignal;
  /** Bytes fed to ffmpeg's stdin (read with `-i pipe:0`). Absent: stdin is closed. */
  input?: Uint8Array;
  /** Collect what ffmpeg writes to stdout (`pipe:1`) and resolve with it. Default false: stdout is discarded. */
  captureOutput?: boolean;
}

/**
 * Runs ffmpeg once with the given arguments (no shell; stdin closed unless `input` is given) and resolves when it
 * exits with 0, with its stdout when `captureOutput` is set (an empty Buffer otherwise).
 * Rejects with `FfmpegFailure` carrying the stderr tail otherwise.
 */
export function runFfmpeg(args: readonly string[], options: RunFfmpegOptions): Promise<Buffer> {
  const { ffmpegPath, signal, input, captureOutput = false } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(
        new FfmpegFailure("ffmpeg was not started: the operation was aborted", {
          exitCode: null,
          signal: null,
          stderrTail: "",
          aborted: true,
          cause: signal.reason,
        }),
      );
      return;
    }
    // `-nostdin` only turns off ffmpeg's keyboard interaction; `pipe:0` still reads the input.
    const child = spawn(ffmpegPath, ["-nostdin", ...args], {
      stdio: [input ? "pipe" : "ignore", captureOutput ? "pipe" : "ignore", "pipe"],
    });
    const output: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    // ffmpeg may stop reading early (bad data): the broken pipe is reported by its exit code, not by this stream.
    child.stdin?.on("error", () => {});
    child.stdin?.end(input);
    let stderr = "";
    // Always piped (see `stdio`); the conditional stdio above only widens the stream types to nullable.
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    const fail = (
      how: string,
      exitCode: number | null,
      exitSignal: NodeJS.Signals | null,
      cause?: unknown,
    ) => {
      signal?.removeEventListener("abort", onAbort);
      const stderrTail = stderr.trim().split("\n").slice(-12).join("\n");
      reject(
        new FfmpegFailure(`ffmpeg ${how}${stderrTail ? `: ${stderrTail}` : ""}`, {
          exitCode,
          signal: exitSignal,
          stderrTail,
          aborted: signal?.aborted === true,
          cause,
        }),
      );
    };
    // A binary that cannot be started emits only `error`; one that ran emits `close` (after `error`, if any).
    child.on("error", (error) => {
      if (child.pid === undefined) fail(`could not be started (${error.message})`, null, null, error);
    });
    child.on("close", (exitCode, exitSignal) => {
      if (child.pid === undefined) return;
      if (exitCode === 0) {
        signal?.removeEventListener("abort", onAbort);
        resolve(Buffer.concat(output));
      } else if (signal?.aborted) {
        fail("was killed because the operation was aborted", exitCode, exitSignal, signal.reason);
      } else {
        fail(
          exitSignal ? `was killed by ${exitSignal}` : `exited with code ${exitCode}`,
          exitCode,
          exitSignal,
        );
      }
    });
  });
}
