import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { STAGE_METRIC_NAMES } from "../../src/metrics/stage-metrics.ts";
import { isExportedSeries, referencedMetricNames } from "./metric-references.ts";

/** docs/metrics.md names every metric; the Grafana dashboard is valid JSON whose queries parse and name real metrics. */
const run = promisify(execFile);
const docsPath = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

describe("metrics documentation", () => {
  it("docs/metrics.md describes every exported metric", async () => {
    const text = await readFile(docsPath("metrics.md"), "utf8");
    for (const name of Object.values(STAGE_METRIC_NAMES)) expect(text, name).toContain(`\`${name}\``);
    expect(referencedMetricNames(text).filter((name) => !isExportedSeries(name))).toEqual([]);
  });

  it("the Grafana dashboard parses, and every query is valid PromQL over exported metrics", async () => {
    const dashboard = JSON.parse(
      await readFile(docsPath("grafana/video-generate-dashboard.json"), "utf8"),
    ) as {
      title: string;
      panels: Panel[];
    };
    expect(dashboard.title).toBe("video.generate");
    const expressions = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
    );
    expect(expressions.length).toBeGreaterThan(15);
    for (const { panel, expr } of expressions) {
      const unknown = referencedMetricNames(expr).filter((name) => !isExportedSeries(name));
      expect(unknown, `${panel}: ${expr}`).toEqual([]);
    }
    // Every metric appears on the dashboard.
    const all = expressions.map(({ expr }) => expr).join("\n");
    for (const name of Object.values(STAGE_METRIC_NAMES)) expect(all, name).toContain(name);

    // promtool parses each query as a recording rule (a rules file may be JSON, a subset of YAML).
    const directory = await mkdtemp(path.join(tmpdir(), "dashboard-promql-"));
    try {
      const file = path.join(directory, "dashboard-queries.json");
      const rules = expressions.map(({ expr }, index) => ({ record: `dashboard:query_${index}`, expr }));
      await writeFile(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const { stdout } = await run("/usr/bin/promtool", ["check", "rules", file]).catch(
        (error: { stdout?: string; stderr?: string }) => {
          throw new Error(`promtool rejected a dashboard query:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
        },
      );
      expect(stdout).toContain(`SUCCESS: ${expressions.length} rules found`);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
