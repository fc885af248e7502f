import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_NODE_ARGUMENTS } from "./cli-process.ts";

/**
 * `--help` must not load what the commands need when they run (AWS SDK, PGlite, pg, sharp, the Inngest SDK, undici,
 * zod, the sandbox): a module-resolution hook in the child records every module it loads. How fast that makes it is
 * measured in bench/cli-startup-benchmark.ts, not here.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let workDir: string;
let registerHook: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "video-gen-lazy-"));
  const hooks = path.join(workDir, "record-hooks.mjs");
  await writeFile(
    hooks,
    `import { appendFileSync } from "node:fs";
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + "\\n");
  return result;
}
`,
  );
  registerHook = path.join(workDir, "register.mjs");
  await writeFile(
    registerHook,
    `import { register } from "node:module";
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: process.env.MODULE_LOG } });
`,
  );
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Runs `video-gen <args>` from the sources and returns the files it loaded, relative to the repository. */
async function loadedModules(
  args: string[],
): Promise<{ code: number | null; stdout: string; files: string[] }> {
  const log = path.join(workDir, `${args.join("-").replace(/\W+/g, "_")}.log`);
  const result = spawnSync(process.execPath, ["--import", registerHook, ...CLI_NODE_ARGUMENTS, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: workDir, MODULE_LOG: log },
    encoding: "utf8",
    timeout: 60_000,
  });
  const urls = (await readFile(log, "utf8")).split("\n").filter((url) => url.startsWith("file:"));
  const files = [...new Set(urls.map((url) => path.relative(ROOT, fileURLToPath(url))))];
  return { code: result.status, stdout: result.stdout, files };
}

const dependencies = Object.keys(
  (JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { dependencies: object })
    .dependencies,
);

const COMMANDS = [
  "demo",
  "generate",
  "send",
  "serve",
  "list",
  "show",
  "totals",
  "posters",
  "replay",
  "cancel",
  "sandbox",
];

describe("video-gen --help loads only the command definitions", () => {
  for (const args of [["--help"], ...COMMANDS.map((command) => [command, "--help"])]) {
    it(`video-gen ${args.join(" ")}`, async () => {
      const { code, stdout, files } = await loadedModules(args);
      expect(code).toBe(0);
      expect(stdout).toContain("Usage: video-gen");
      // The hook saw the program being built (so an empty list cannot pass).
      expect(files).toContain(path.join("src", "cli", "main.ts"));
      expect(files).toContain(path.join("node_modules", "commander", "esm.mjs"));

      // Of the package's runtime dependencies, only commander (the TypeScript loader's own packages aside).
      const loaded = dependencies.filter((name) =>
        files.some((file) => file.startsWith(path.join("node_modules", name, "/"))),
      );
      expect(loaded).toEqual(["commander"]);
      const sources = files.filter((file) => file.startsWith("src/"));
      const outsideCli = sources.filter(
        (file) => !file.startsWith("src/cli/") && file !== "src/errors/video-generation-error.ts",
      );
      expect(outsideCli).toEqual([]);
      expect(sources.filter((file) => file.startsWith("src/cli/actions/"))).toEqual([]);
    });
  }
});
