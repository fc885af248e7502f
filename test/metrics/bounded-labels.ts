import { expect } from "vitest";
import { ACTIVE_STATUSES } from "../../src/metadata/operator-gauges.ts";
import {
  CACHE_MODES,
  PROVIDER_CALL_OUTCOMES,
  PROVIDER_OPERATIONS,
  STORAGE_OPERATIONS,
  STORAGE_OUTCOMES,
} from "../../src/metrics/stage-metrics.ts";
import type { Sample } from "./exposition.ts";

/**
 * Every label a metric of the stage may carry, with the values it may take: small fixed sets, never an id, a prompt,
 * a seed or a correlation. `le` is the histogram bucket bound, `version` and `model` the build info's.
 */
const ALLOWED: Record<string, (value: string) => boolean> = {
  cache_mode: (value) => (CACHE_MODES as readonly string[]).includes(value),
  status: (value) => ["succeeded", "failed", "canceled", ...ACTIVE_STATUSES].includes(value),
  cache_hit: (value) => value === "true" || value === "false",
  operation: (value) => [...PROVIDER_OPERATIONS, ...STORAGE_OPERATIONS].includes(value as never),
  outcome: (value) => [...PROVIDER_CALL_OUTCOMES, ...STORAGE_OUTCOMES].includes(value as never),
  currency: (value) => /^[A-Z]{3}$/.test(value),
  le: (value) => value === "+Inf" || Number.isFinite(Number(value)),
  version: (value) => /^\d+\.\d+\.\d+(?:-[\w.]+)?$/.test(value),
  model: (value) => value === "wan2.6-i2v-flash",
};

/** Fails unless every sample's labels are known names with values from their fixed sets. */
export function expectBoundedLabels(samples: Sample[]): void {
  expect(samples.length).toBeGreaterThan(0);
  for (const sample of samples) {
    for (const [name, value] of Object.entries(sample.labels)) {
      expect(ALLOWED[name], `label ${name} of ${sample.name}`).toBeDefined();
      expect(ALLOWED[name]!(value), `${sample.name}{${name}="${value}"}`).toBe(true);
    }
  }
}
