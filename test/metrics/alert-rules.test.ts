import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { isExportedSeries, referencedMetricNames } from "./metric-references.ts";

/**
 * The documented alert rules are valid (`promtool check rules`) and do what their unit tests with input series say
 * (`promtool test rules`), with Debian's promtool (package `prometheus`).
 */
const run = promisify(execFile);
const PROMTOOL = "/usr/bin/promtool";
const RULES = fileURLToPath(new URL("../../docs/prometheus/video-generate-alerts.yml", import.meta.url));
const RULE_TESTS = fileURLToPath(
  new URL("../../docs/prometheus/video-generate-alerts.test.yml", import.meta.url),
);

function promtool(): string {
  if (!existsSync(PROMTOOL)) {
    throw new Error(
      `promtool not found at ${PROMTOOL}: install Debian's prometheus package (apt-get install -y prometheus), which provides it`,
    );
  }
  return PROMTOOL;
}

describe("the example alert rules", () => {
  it("pass promtool check rules", async () => {
    const { stdout } = await run(promtool(), ["check", "rules", RULES]);
    expect(stdout).toMatch(/SUCCESS: 9 rules found/);
  });

  it("pass their promtool unit tests", async () => {
    const result = await run(promtool(), ["test", "rules", RULE_TESTS]).catch(
      (error: { stdout?: string; stderr?: string }) => {
        throw new Error(`promtool test rules failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
      },
    );
    expect(result.stdout).toMatch(/SUCCESS/);
  });

  it("mention only metrics the stage exports, and every alert is unit-tested", async () => {
    const rules = await readFile(RULES, "utf8");
    const names = referencedMetricNames(rules);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !isExportedSeries(name))).toEqual([]);
    const tests = await readFile(RULE_TESTS, "utf8");
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((match) => match[1]);
    expect(alerts).toHaveLength(9);
    for (const alert of alerts)
      expect(tests, alert).toMatch(new RegExp(`alertname: ${alert}\\n[\\s\\S]*?exp_labels`));
  });
});
