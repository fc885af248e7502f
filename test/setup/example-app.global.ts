import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * Why examples/film-pipeline has no current install of the packed stage (its install script failed); empty when
     * it has one, or when this run does not include the suite that needs it.
     */
    exampleAppError: string;
  }
}

const SCRIPT = fileURLToPath(
  new URL("../../examples/film-pipeline/scripts/install-stage.sh", import.meta.url),
);
/** The suite that runs the example app on the Inngest server, from its installed node_modules. */
const SUITE = "test/engine/example-host-app.test.ts";
/** A fresh install (the app's dependencies, ~500 MiB unpacked) plus a build; another run may hold the lock as long. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/**
 * Before a run that includes {@link SUITE}: installs the stage into examples/film-pipeline as `npm pack` makes it, or
 * does nothing when the installed copy is current (the script compares it with every file the tarball is made of).
 * A failure fails that suite only, with the script's message.
 */
export default async function setup(project: TestProject) {
  project.provide("exampleAppError", "");
  if (!(await runIncludesSuite(project))) return;
  const started = Date.now();
  try {
    const { stdout } = await promisify(execFile)("bash", [SCRIPT], {
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (stdout.includes("packed and installed")) {
      console.log(`examples/film-pipeline: video-generate-stage packed and installed in ${elapsed(started)}`);
    }
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    project.provide(
      "exampleAppError",
      `examples/film-pipeline/scripts/install-stage.sh failed after ${elapsed(started)} ` +
        `(run it, or \`npm run build\` at the root if the build is what failed): ${stderr?.trim() || message}`,
    );
  }
}

/**
 * Whether the run's file filters select the suite. Vitest hands a global setup no list of the files it will run; the
 * filters are on the Vitest instance (not a documented field, so read with care: if it is gone, assume the suite
 * runs). Without this, every `vitest run <other file>` after a source edit would pay for a build, a pack and an install.
 */
async function runIncludesSuite(project: TestProject): Promise<boolean> {
  const filters = (project.vitest as unknown as { filenamePattern?: unknown }).filenamePattern;
  if (!Array.isArray(filters) || filters.length === 0) return true;
  const { testFiles } = await project.globTestFiles(filters.map(String));
  return testFiles.some((file) => file.replaceAll("\\", "/").endsWith(SUITE));
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
