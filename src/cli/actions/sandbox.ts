import { InputError } from "../../errors/input-error.ts";
import { startSandbox } from "../../sandbox/index.ts";
import { type CliIo, untilTerminated, warn } from "../cli-io.ts";

/** The flags of `video-gen sandbox`, as commander parses them. */
export interface SandboxFlags {
  port: string;
  apiKey?: string;
  pendingMs: string;
  renderMs: string;
  /** `host[:port]` whose http(s) image URLs the sandbox downloads (repeatable); none by default. */
  allowImageHost: string[];
}

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

const HOST_ENTRY = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

function imageHosts(entries: string[]): string[] {
  for (const entry of entries) {
    if (!HOST_ENTRY.test(entry)) {
      throw InputError.forField(
        "allow-image-host",
        `--allow-image-host must be host or host:port, e.g. 127.0.0.1:9000; got ${JSON.stringify(entry)}`,
      );
    }
  }
  return entries;
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

/** Runs the DashScope sandbox until SIGINT/SIGTERM and prints the variables that point the stage at it. */
export async function runSandbox(io: CliIo, flags: SandboxFlags): Promise<number> {
  const sandbox = await startSandbox({
    port: wholeNumber("port", flags.port, 65_535),
    // The sandbox's key is not stage configuration, so it is not in loadConfig: it is read here.
    apiKey: flags.apiKey ?? (io.environment.SANDBOX_API_KEY || undefined),
    timings: {
      pendingMs: wholeNumber("pending-ms", flags.pendingMs, 600_000),
      renderMs: wholeNumber("render-ms", flags.renderMs, 600_000),
    },
    allowImageHosts: imageHosts(flags.allowImageHost),
  });
  const lines = Object.entries(sandboxEnvironment(sandbox)).map(([name, value]) => `export ${name}=${value}`);
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
}
