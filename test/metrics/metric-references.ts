import { STAGE_METRIC_NAMES } from "../../src/metrics/stage-metrics.ts";

const KNOWN = new Set<string>(Object.values(STAGE_METRIC_NAMES));
/** The histograms: their series carry `_bucket`, `_sum` and `_count`. */
const HISTOGRAMS = new Set([...KNOWN].filter((name) => name.endsWith("_duration_seconds")));

/** Every `video_generation_*` name a text (a PromQL expression, a rules file) mentions. */
export function referencedMetricNames(text: string): string[] {
  return [...new Set(text.match(/\bvideo_generation_[a-z_]+\b/g) ?? [])];
}

/** Whether `name` is a series the stage exports: a metric's name, or a histogram's bucket, sum or count. */
export function isExportedSeries(name: string): boolean {
  if (KNOWN.has(name)) return true;
  const histogram = name.replace(/_(bucket|sum|count)$/, "");
  return histogram !== name && HISTOGRAMS.has(histogram);
}
