import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { videoGenerateResponseSchema } from "../../src/contract/video-generate-response.ts";
import { type SandboxHandle, startSandbox } from "../../src/sandbox/index.ts";
import { probeVideo, requireFfmpeg } from "../helpers/ffprobe-video.ts";
import { runCli } from "./cli-process.ts";

/**
 * The package as a user gets it: `npm pack` of the current sources (in a copy, so the working tree's dist/ is left
 * alone), `npm install <tarball>` into an empty directory, then the installed `video-gen` and a plain
 * `import("video-generate-stage")` on this Node, with no TypeScript loader anywhere.
 */
const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** What `npm pack` needs to build: the sources and the build configuration, nothing of the working tree's output. */
const PACKAGE_SOURCES = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "README.md",
  "LICENSE",
  "bin",
  "src",
  "fixtures/sample-reference.jpg",
];

let workDir: string;
let appDir: string;
let tarball: string;
let tarballFiles: string[];
let installed: string;
let sandbox: SandboxHandle;

const run = (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileAsync(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "video-gen-packed-"));
  const sourceDir = path.join(workDir, "source");
  for (const entry of PACKAGE_SOURCES) {
    await cp(path.join(ROOT, entry), path.join(sourceDir, entry), { recursive: true });
  }
  // The build's tools (tsc) from the repository's install.
  await symlink(path.join(ROOT, "node_modules"), path.join(sourceDir, "node_modules"), "dir");
  const packDir = path.join(workDir, "pack");
  await mkdir(packDir);
  await run("npm", ["pack", "--pack-destination", packDir], sourceDir);
  const { stdout: listing } = await run("sh", ["-c", "ls *.tgz"], packDir);
  tarball = path.join(packDir, listing.trim());
  tarballFiles = (await run("tar", ["-tzf", tarball], packDir)).stdout.trim().split("\n");

  appDir = path.join(workDir, "app");
  await mkdir(appDir);
  await writeFile(
    path.join(appDir, "package.json"),
    JSON.stringify({ name: "packed-install-check", private: true, type: "module" }),
  );
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], appDir);
  installed = path.join(appDir, "node_modules", "video-generate-stage");
  sandbox = await startSandbox({ timings: { pendingMs: 200, renderMs: 300 } });
}, 600_000);

afterAll(async () => {
  await sandbox?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Runs a script as an ES module with plain `node` in the app directory. */
async function nodeScript(script: string, env: NodeJS.ProcessEnv) {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], appDir, env);
  return stdout;
}

describe("npm pack", () => {
  it("ships the compiled package and nothing else: dist, bin, the SQL migrations, the sample image, README, LICENSE", () => {
    const files = tarballFiles.map((file) => file.replace(/^package\//, ""));
    const outside = files.filter(
      (file) =>
        !file.startsWith("dist/") &&
        ![
          "bin/video-gen.js",
          "fixtures/sample-reference.jpg",
          "README.md",
          "LICENSE",
          "package.json",
        ].includes(file),
    );
    expect(outside).toEqual([]);
    for (const file of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/index.d.ts.map",
      "dist/inngest-config.js",
      "dist/inngest-config.d.ts",
      "dist/cli/main.js",
      "dist/metadata/migrations/001-generations.sql",
      "dist/gallery/assets/gallery.js",
      "dist/gallery/assets/gallery.css",
      "dist/gallery/assets/favicon.svg",
      "bin/video-gen.js",
      "fixtures/sample-reference.jpg",
      "LICENSE",
    ]) {
      expect(files).toContain(file);
    }
    // Every migration of the sources is in the package, where the migrator looks for it at run time.
    expect(files.filter((file) => file.startsWith("dist/metadata/migrations/")).length).toBeGreaterThan(0);
    // No TypeScript sources: declarations only.
    expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
  });
});

describe("the installed package", () => {
  it("resolves to compiled JavaScript and imports on plain Node, with inngest as the host's own copy", async () => {
    const output = await nodeScript(
      `const entry = import.meta.resolve("video-generate-stage");
       const root = import.meta.resolve("video-generate-stage/inngest-config");
       const stage = await import("video-generate-stage");
       console.log(JSON.stringify({ entry, root, execArgv: process.execArgv, exports: Object.keys(stage).sort(),
         inngest: import.meta.resolve("inngest") }));`,
      { PATH: process.env.PATH },
    );
    const report = JSON.parse(output) as {
      entry: string;
      root: string;
      execArgv: string[];
      exports: string[];
      inngest: string;
    };
    expect(fileURLToPath(report.entry)).toBe(path.join(installed, "dist", "index.js"));
    expect(fileURLToPath(report.root)).toBe(path.join(installed, "dist", "inngest-config.js"));
    // No loader or preloaded module: only the `-e` script itself.
    expect(
      report.execArgv.filter((argument) =>
        /^(--(import|loader|experimental-loader|require)|-r$)/.test(argument),
      ),
    ).toEqual([]);
    expect(report.exports).toEqual(
      expect.arrayContaining([
        "composeOperatorRoutes",
        "composeStage",
        "createMetricsHandler",
        "createOperatorHandler",
        "createVideoGenerateFunctions",
        "generateInProcess",
        "loadConfig",
        "videoGenerationCompleted",
        "videoGenerationRequested",
      ]),
    );
    // The peer dependency: one inngest, at the app's top level, not a private copy inside the stage.
    expect(fileURLToPath(report.inngest).startsWith(path.join(appDir, "node_modules", "inngest"))).toBe(true);
    await expect(stat(path.join(installed, "node_modules", "inngest"))).rejects.toThrow();
  });

  it("starts nothing, opens nothing and reads no environment variable when imported", async () => {
    // The host imports inngest itself (a peer); what importing the stage adds on top is what is checked. Only
    // reads made by package code count: Node's own module loader consults a few variables for every module.
    const output = await nodeScript(
      `await import("inngest");
       const reads = [];
       const record = (what) => {
         const caller = new Error().stack.split("\\n").slice(2).find((line) => /node_modules|file:/.test(line) && !line.includes("[eval"));
         if (caller) reads.push(what + " from " + caller.trim());
       };
       process.env = new Proxy(process.env, {
         get(target, key) { if (typeof key === "string") record("get " + key); return Reflect.get(target, key); },
         has(target, key) { record("has " + String(key)); return Reflect.has(target, key); },
         ownKeys(target) { record("keys"); return Reflect.ownKeys(target); },
         getOwnPropertyDescriptor(target, key) { record("describe " + String(key)); return Reflect.getOwnPropertyDescriptor(target, key); },
         set(target, key, value) { record("set " + String(key)); return Reflect.set(target, key, value); },
       });
       const before = process.getActiveResourcesInfo();
       await import("video-generate-stage");
       await new Promise((resolve) => setTimeout(resolve, 200));
       const after = process.getActiveResourcesInfo();
       const stageReads = [...reads];
       // The probe itself: pg (a dependency that composeStage loads) reads USER when it is imported.
       await import("pg");
       console.log(JSON.stringify({ reads: stageReads, before, after, control: reads.slice(stageReads.length) }));`,
      {},
    );
    const report = JSON.parse(output) as {
      reads: string[];
      before: string[];
      after: string[];
      control: string[];
    };
    expect(report.control.join("\n")).toContain("get USER");
    expect(report.reads).toEqual([]);
    // No handle the import left behind: no timer, socket, server, file or child process beyond those before it.
    const added = [...report.after];
    for (const resource of report.before) {
      const index = added.indexOf(resource);
      if (index >= 0) added.splice(index, 1);
    }
    expect(added).toEqual([]);
  });

  it("`video-gen generate` against the sandbox makes the same playable MP4 as the CLI from the sources", async () => {
    const image = path.join(installed, "fixtures", "sample-reference.jpg");
    const environment = (outputDir: string) => ({
      PATH: process.env.PATH ?? "",
      HOME: outputDir,
      OUTPUT_DIR: outputDir,
      DASHSCOPE_API_KEY: sandbox.apiKey,
      DASHSCOPE_HTTP_BASE_URL: sandbox.baseUrl,
      VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
      VIDEO_GEN_RENDER_ESTIMATE_S: "1",
    });
    const args = [
      "generate",
      "--image",
      image,
      "--prompt",
      "packed install, waves at dusk",
      "--duration",
      "2",
    ];

    const installedOutput = path.join(workDir, "installed-output");
    const fromPackage = await run(
      path.join(appDir, "node_modules", ".bin", "video-gen"),
      [...args, "--json"],
      appDir,
      environment(installedOutput),
    );
    const response = videoGenerateResponseSchema.parse(JSON.parse(fromPackage.stdout));
    expect(fromPackage.stderr).toMatch(/video-gen: \[\d+s\] validate/);
    const file = fileURLToPath(response.video_url);
    expect(file.startsWith(path.join(installedOutput, "videos"))).toBe(true);
    expect((await stat(file)).size).toBe(response.bytes);
    const probed = await probeVideo(requireFfmpeg().ffprobe, file);
    expect(probed).toMatchObject({ width: 1280, height: 720, codec: "h264" });
    expect(probed.durationSeconds).toBeCloseTo(2, 1);

    const fromSources = await runCli([...args, "--json"], environment(path.join(workDir, "source-output")));
    expect(fromSources.code, fromSources.stderr).toBe(0);
    const sourceResponse = videoGenerateResponseSchema.parse(JSON.parse(fromSources.stdout));
    const facts = ({
      generation_id,
      model,
      duration,
      fps,
      width,
      height,
      seed,
      cache_hit,
    }: typeof response) => ({
      generation_id,
      model,
      duration,
      fps,
      width,
      height,
      seed,
      cache_hit,
    });
    expect(facts(response)).toEqual(facts(sourceResponse));
  }, 120_000);

  it("`video-gen demo` finds the shipped sample image and renders it; --version and --help answer", async () => {
    const outputDir = path.join(workDir, "demo-output");
    const bin = path.join(appDir, "node_modules", ".bin", "video-gen");
    const env = { PATH: process.env.PATH ?? "", HOME: outputDir, OUTPUT_DIR: outputDir };
    const demo = await run(bin, ["demo"], appDir, env);
    expect(demo.stdout).toMatch(/Playable MP4: .+\.mp4/);
    expect(demo.stdout).toContain(path.join(installed, "fixtures", "sample-reference.jpg"));

    const version = await run(bin, ["--version"], appDir, env);
    expect(version.stdout.trim()).toBe(
      (JSON.parse((await run("cat", ["package.json"], installed)).stdout) as { version: string }).version,
    );
    const help = await run(bin, ["generate", "--help"], appDir, env);
    expect(help.stdout).toContain("Usage: video-gen generate");
  }, 120_000);
});
