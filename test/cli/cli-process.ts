import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The CLI's entry point from the current sources: what bin/video-gen.js does with the compiled dist/, done with the
 * TypeScript sources through tsx, so the tests never run a stale build (the packed-install test runs the real bin).
 */
export const CLI_PATH = fileURLToPath(new URL("./video-gen-source.ts", import.meta.url));

/** `node` arguments that run `video-gen` from the sources: tsx by absolute URL, so any working directory works. */
export const CLI_NODE_ARGUMENTS = [
  "--import",
  pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href,
  CLI_PATH,
] as const;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process with its output so far. */
export interface CliProcess {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves when stderr (or stdout) matches, rejects after `timeoutMs` or when the process ends first. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** Resolves with the exit; kills the process (SIGKILL) after `timeoutMs` so a test cannot hang. */
  exited(timeoutMs: number): Promise<CliResult>;
}

/** Starts `video-gen <args>` with exactly `environment` (plus PATH), never the test runner's own variables. */
export function startCli(args: string[], environment: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [...CLI_NODE_ARGUMENTS, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );

  return {
    child,
    output: () => ({ stdout, stderr }),
    waitForOutput(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(stderr) || pattern.test(stdout)) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `no output matching ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}\nstdout:\n${stdout}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exit.then(() => {
          if (!listeners.has(check)) return;
          done();
          reject(
            new Error(
              `process ended before output matching ${pattern}; stderr:\n${stderr}\nstdout:\n${stdout}`,
            ),
          );
        });
        check();
      });
    },
    async exited(timeoutMs) {
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const result = await exit;
      clearTimeout(timer);
      return { ...result, stdout, stderr };
    },
  };
}

/** Runs `video-gen <args>` to its end (killed after `timeoutMs`). */
export function runCli(
  args: string[],
  environment: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return startCli(args, environment).exited(timeoutMs);
}
