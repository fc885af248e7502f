/**
 * Runs every benchmark (each writes bench/results/<name>.md) and assembles docs/benchmarks.md from the results.
 *   npm run bench            all of them (the copy benchmark moves 1 GiB; the load benchmarks take minutes each,
 *                            engine-load builds or reuses the pinned Inngest server)
 *   npm run bench -- --only poll-schedule,cache-hit
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const BENCHMARKS = [
  "poll-schedule",
  "cache-hit",
  "copy",
  "conform",
  "poster",
  "load",
  "engine-load",
  "cli-startup",
  "gallery-query",
  "gallery-http",
  "metrics-scrape",
] as const;
const { values } = parseArgs({ options: { only: { type: "string" }, "docs-only": { type: "boolean" } } });
const selected = values.only ? values.only.split(",") : [...BENCHMARKS];

if (!values["docs-only"]) {
  for (const name of selected) {
    console.log(`\n== ${name}`);
    execFileSync(process.execPath, ["--import", "tsx", `bench/${name}-benchmark.ts`], { stdio: "inherit" });
  }
}

// A benchmark's variants (`engine-load-push-scale-3.md`, written with other flags) and readings written after a run
// (`engine-load-reading.md`) follow its own section.
const resultFiles = readdirSync("bench/results").filter((file) => file.endsWith(".md"));
const sectionFiles = BENCHMARKS.flatMap((name) => [
  ...(resultFiles.includes(`${name}.md`) ? [`${name}.md`] : []),
  ...resultFiles
    .filter((file) => file.startsWith(`${name}-`) && !BENCHMARKS.some((other) => file === `${other}.md`))
    .sort(),
]);
const sections = sectionFiles.map((file) =>
  readFileSync(`bench/results/${file}`, "utf8")
    .trim()
    // Each result file starts with a level-1 heading; in the assembled page they are sections.
    .replace(/^# /, "## "),
);
writeFileSync(
  "docs/benchmarks.md",
  `# Benchmarks\n\nSpeed and memory are measured here, not asserted in timed tests. Each section is written by its benchmark\n(\`bench/<name>-benchmark.ts\`, results in \`bench/results/\`) with the machine and the date; \`npm run bench\` reruns\nthem all and rebuilds this page (\`npm run bench -- --only cache-hit\` for one).\n\n${sections.join("\n\n")}\n`,
);
console.log("\ndocs/benchmarks.md written");
