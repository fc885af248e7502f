import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../src/config.ts";
import { runCli } from "./cli-process.ts";

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "video-gen-demo-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe("video-gen demo (the README's first command)", () => {
  it("renders a playable MP4 on a fresh machine: no API key, no servers, the embedded database", async () => {
    const outputDir = path.join(workDir, "output");
    // Nothing but a home and an output directory: no DASHSCOPE_*, no DATABASE_URL.
    const result = await runCli(["demo"], { HOME: workDir, OUTPUT_DIR: outputDir }, 110_000);

    expect(result.code, result.stderr).toBe(0);
    const mp4 = /Playable MP4: (.+\.mp4)$/m.exec(result.stdout)?.[1];
    expect(mp4).toBeDefined();
    expect(mp4?.startsWith(path.join(outputDir, "videos"))).toBe(true);
    expect(existsSync(String(mp4)) && statSync(String(mp4)).size).toBeGreaterThan(10_000);
    // Policy conform: the model renders 30 fps, the stored file was resampled to the requested 24.
    expect(result.stdout).toMatch(/Measured:\s+5\.\d+ s, 24 fps, 1280x720/);
    expect(result.stdout).toMatch(/Status:\s+succeeded/);
    expect(existsSync(path.join(outputDir, "metadata"))).toBe(true);
  }, 120_000);

  it("lists the environment variables that apply, with defaults, in --help", async () => {
    const result = await runCli(["generate", "--help"], { HOME: workDir });
    expect(result.code).toBe(0);
    for (const name of [
      "DASHSCOPE_API_KEY",
      "DASHSCOPE_HTTP_BASE_URL",
      "OUTPUT_DIR",
      "DATABASE_URL",
      "VIDEO_GEN_DEADLINE_S",
    ]) {
      expect(result.stdout).toContain(name);
    }
    expect(result.stdout).toContain("(default: 1800)");
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(10);
  });
});
