import { type ChildProcess, spawn } from "node:child_process";
import { killOnExit } from "./child-cleanup.ts";

/** Lines of a server's output kept for error messages. */
const LOG_TAIL_LINES = 80;

/** A long-running server the tests started: its output tail, and ways to end it. */
export interface ServerProcess {
  child: ChildProcess;
  /** The last lines it printed (stdout and stderr), for failure messages. */
  logTail(): string;
  /** Whether it has exited. */
  exited(): boolean;
  /** SIGKILL, as a crash or an OOM kill would; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `command args` with exactly `environment` (plus PATH), never the test runner's own variables. */
export function startServerProcess(
  command: string,
  args: string[],
  environment: Record<string, string> = {},
): ServerProcess {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const forget = killOnExit(() => child.kill("SIGKILL"));
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    if (lines.length > LOG_TAIL_LINES) lines.splice(0, lines.length - LOG_TAIL_LINES);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let hasExited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      hasExited = true;
      forget();
      resolve();
    });
    child.once("error", (error) => {
      lines.push(`spawn failed: ${error.message}`);
      hasExited = true;
      forget();
      resolve();
    });
  });
  const stop = async (graceMs = 5_000) => {
    if (hasExited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exit;
    clearTimeout(timer);
  };
  return {
    child,
    logTail: () => lines.join("\n"),
    exited: () => hasExited,
    async kill() {
      if (hasExited) return;
      child.kill("SIGKILL");
      await exit;
    },
    stop,
  };
}
