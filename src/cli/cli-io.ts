/** What a command needs from its process, passed in so that only `main` touches `process`. */
export interface CliIo {
  /** The environment handed to `loadConfig` (and to the Inngest client). Normally `process.env`. */
  environment: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** stderr is a terminal: progress is one live line instead of log lines. */
  interactive: boolean;
  cwd: string;
  /** Print stack traces of unexpected errors (`--verbose`, or DEBUG set). */
  verbose: boolean;
}

/** Writes one line to stderr, prefixed so it is clear which program speaks. */
export function warn(io: CliIo, message: string): void {
  io.stderr.write(`video-gen: ${message}\n`);
}

/**
 * Resolves on the first SIGINT or SIGTERM (with the signal's name), for long-running commands (`serve`, `sandbox`).
 * The returned `dispose` removes the listeners.
 */
export function onTermination(handler: (signal: NodeJS.Signals) => void): () => void {
  const listener = (signal: NodeJS.Signals) => handler(signal);
  process.on("SIGINT", listener);
  process.on("SIGTERM", listener);
  return () => {
    process.off("SIGINT", listener);
    process.off("SIGTERM", listener);
  };
}

/** Waits for SIGINT or SIGTERM. */
export function untilTerminated(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const dispose = onTermination((signal) => {
      dispose();
      resolve(signal);
    });
  });
}
