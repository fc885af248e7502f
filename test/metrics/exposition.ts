import type { StageMetrics } from "../../src/metrics/stage-metrics.ts";

/** One sample line of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the sample lines of a text exposition (comments skipped); throws on a line it cannot read. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, raw] of (match[2] ?? "").matchAll(LABEL_PAIR)) {
      labels[name!] = raw!.replace(/\\(.)/g, (_, escaped: string) => (escaped === "n" ? "\n" : escaped));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Scrapes a StageMetrics the way `/metrics` does and parses the answer. */
export async function scrape(metrics: StageMetrics): Promise<Sample[]> {
  return parseExposition(await metrics.registry.metrics());
}

/**
 * The sum of the samples named `name` whose labels include `labels`, over one or several scrapes (several workers):
 * what `sum(name{labels})` gives in PromQL. Undefined when no sample matches.
 */
export function sumOf(
  scrapes: Sample[] | Sample[][],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const all = (scrapes.length > 0 && Array.isArray(scrapes[0]) ? scrapes.flat() : scrapes) as Sample[];
  const matching = all.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return matching.length === 0 ? undefined : matching.reduce((total, sample) => total + sample.value, 0);
}
