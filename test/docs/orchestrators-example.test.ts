import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * docs/orchestrators.md shows the example app's files; each code block is marked with the file it shows
 * (`<!-- example: examples/film-pipeline/src/x.ts -->`). The example is type-checked and run in CI, so keeping the
 * blocks identical to the files keeps the page correct.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCES = "examples/film-pipeline/src";

const page = await readFile(path.join(ROOT, "docs/orchestrators.md"), "utf8");
const blocks = [...page.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)].map((match) => ({
  file: String(match[1]),
  code: String(match[2]),
}));

describe("docs/orchestrators.md shows the example app as it is", () => {
  it("shows every source file of the example, each once", async () => {
    const files = (await readdir(path.join(ROOT, SOURCES))).filter((file) => file.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(0);
    expect(blocks.map((block) => block.file).sort()).toEqual(
      files.map((file) => `${SOURCES}/${file}`).sort(),
    );
  });

  for (const { file, code } of blocks) {
    it(`the block for ${file} is the file`, async () => {
      const source = (await readFile(path.join(ROOT, file), "utf8")).trimEnd();
      expect(code, `copy ${file} into its block in docs/orchestrators.md`).toBe(source);
    });
  }
});
