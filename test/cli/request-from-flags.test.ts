import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMAND_VARIABLES, environmentHelp, VARIABLE_HELP } from "../../src/cli/environment-help.ts";
import { EXIT_CODES, exitCodeForError } from "../../src/cli/exit-codes.ts";
import { parseSince } from "../../src/cli/record-filters.ts";
import { canonicalJson, defaultGenerationId, requestFromFlags } from "../../src/cli/request-from-flags.ts";
import { CONFIG_VARIABLES } from "../../src/config.ts";
import { ConfigurationError, InputError, ProviderError, StorageError } from "../../src/errors/index.ts";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "video-gen-flags-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("requestFromFlags", () => {
  it("builds the snake_case request, parsing numbers and making the image path absolute", async () => {
    const request = await requestFromFlags(
      {
        image: "images/first.jpg",
        prompt: "waves",
        duration: "5",
        fps: "24",
        seed: "7",
        motionStrength: "0.5",
        size: "1280*720",
        audio: true,
        policy: "conform",
        correlation: ["shot=s1", "run=r9"],
      },
      "/projects/film",
    );
    expect(request).toEqual({
      reference_image: "/projects/film/images/first.jpg",
      prompt: "waves",
      duration: 5,
      fps: 24,
      seed: 7,
      motion_strength: 0.5,
      size: "1280*720",
      audio: true,
      unsupported: "conform",
      correlation: { shot: "s1", run: "r9" },
    });
  });

  it("lets flags override a --request file whose relative image is relative to the file", async () => {
    const file = path.join(directory, "request.json");
    await writeFile(
      file,
      JSON.stringify({ prompt: "from file", reference_image: "frame.png", duration: 3, seed: 1 }),
    );
    const request = await requestFromFlags({ request: file, duration: "4" }, "/elsewhere");
    expect(request).toEqual({
      prompt: "from file",
      reference_image: path.join(directory, "frame.png"),
      duration: 4,
      seed: 1,
    });
  });

  it("keeps URLs as they are", async () => {
    const request = await requestFromFlags({ image: "https://example.com/a.jpg", prompt: "p" }, "/x");
    expect(request.reference_image).toBe("https://example.com/a.jpg");
  });

  it("rejects non-numbers, naming the flag, and bad request files, naming --request", async () => {
    await expect(requestFromFlags({ image: "a.jpg", prompt: "p", duration: "5s" })).rejects.toThrow(
      /--duration must be a number; got "5s"/,
    );
    await expect(requestFromFlags({ image: "a.jpg", prompt: "p", motionStrength: "" })).rejects.toThrow(
      /--motion-strength/,
    );
    const broken = path.join(directory, "broken.json");
    await writeFile(broken, "{ not json");
    await expect(requestFromFlags({ request: broken })).rejects.toThrow(/--request .* is not JSON/);
    await expect(requestFromFlags({ prompt: "p" })).rejects.toBeInstanceOf(InputError);
  });
});

describe("defaultGenerationId", () => {
  it("is the same for the same request whatever the key order, and differs for another request", () => {
    const first = defaultGenerationId({
      prompt: "a",
      reference_image: "/x.jpg",
      correlation: { b: 1, a: 2 },
    });
    const reordered = defaultGenerationId({
      correlation: { a: 2, b: 1 },
      reference_image: "/x.jpg",
      prompt: "a",
    });
    expect(first).toMatch(/^cli-[0-9a-f]{20}$/);
    expect(reordered).toBe(first);
    expect(defaultGenerationId({ prompt: "b", reference_image: "/x.jpg" })).not.toBe(first);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it("is random for refresh and bypass, which ask for a new render", () => {
    const request = { prompt: "a", reference_image: "/x.jpg", cache: "refresh" };
    expect(defaultGenerationId(request)).toMatch(/^cli-[0-9a-f-]{36}$/);
    expect(defaultGenerationId(request)).not.toBe(defaultGenerationId(request));
  });
});

describe("CLI helpers", () => {
  it("maps the error family to exit codes", () => {
    expect(exitCodeForError(InputError.forField("duration", "bad"))).toBe(EXIT_CODES.input);
    expect(exitCodeForError(new ConfigurationError("x"))).toBe(EXIT_CODES.configuration);
    expect(exitCodeForError(new ProviderError("x", { kind: "task_failed", code: "X" }))).toBe(
      EXIT_CODES.provider,
    );
    expect(exitCodeForError(new StorageError("x"))).toBe(EXIT_CODES.storage);
    expect(exitCodeForError(new Error("x"))).toBe(EXIT_CODES.internal);
  });

  it("describes every variable loadConfig reads, and serve --help lists each of them", () => {
    for (const name of CONFIG_VARIABLES) expect(VARIABLE_HELP[name], name).toBeDefined();
    for (const name of CONFIG_VARIABLES) expect(COMMAND_VARIABLES.serve, name).toContain(name);
    expect(environmentHelp(["VIDEO_GEN_BUDGET"])).toMatch(/VIDEO_GEN_BUDGET .*\(default: 5\)/);
  });

  it("parses --since as a duration or an ISO time", () => {
    const now = Date.parse("2026-01-02T00:00:00Z");
    expect(parseSince("1h", now).toISOString()).toBe("2026-01-01T23:00:00.000Z");
    expect(parseSince("2026-01-01T00:00:00Z", now).toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(() => parseSince("yesterday", now)).toThrow(/--since/);
  });
});
