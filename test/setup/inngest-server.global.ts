import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * Path of the pinned Inngest server binary (v1.43.0), built or reused by scripts/inngest-server.sh; empty when
     * that failed (then `inngestServerError` says why, and only the suites that start a server fail).
     */
    inngestServerBinary: string;
    inngestServerError: string;
  }
}

const SCRIPT = fileURLToPath(new URL("../../scripts/inngest-server.sh", import.meta.url));
/** A first build takes about 3 minutes on 2 cores; another process may hold the build lock for as long. */
const BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * Builds the Inngest server once (or reuses the cached binary) and provides its path as `inngestServerBinary`;
 * `INNGEST_SERVER_BINARY` points the suites at a binary built elsewhere. The suites under test/engine start their
 * own servers from it.
 */
export default async function setup(project: TestProject) {
  project.provide("inngestServerError", "");
  const existing = process.env.INNGEST_SERVER_BINARY;
  if (existing) {
    project.provide("inngestServerBinary", existing);
    return;
  }
  try {
    const { stdout } = await promisify(execFile)("bash", [SCRIPT], {
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    const binary = stdout.trim().split("\n").at(-1) ?? "";
    project.provide("inngestServerBinary", binary);
    if (!binary) project.provide("inngestServerError", "scripts/inngest-server.sh printed no binary path");
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    project.provide("inngestServerBinary", "");
    project.provide("inngestServerError", `scripts/inngest-server.sh failed: ${stderr?.trim() || message}`);
  }
}
