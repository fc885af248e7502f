/**
 * Seeded draws of wan2.6-i2v-flash render times for benchmarks: the documented shape (dashscope.md §5: docs "usually
 * 1-5 min", doc examples 59-73 s, third parties 45-180 s) as a log-normal with median 75 s and sigma 0.4 (45 s is then
 * about the 10th and 180 s the 99th percentile), clipped to 45-180 s.
 */
export const DOCUMENTED_RENDER_SECONDS = { medianS: 75, sigma: 0.4, minS: 45, maxS: 180 } as const;

/** mulberry32: a tiny, well-known 32-bit PRNG; enough for a simulation, and the same draws on every run. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), state | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One render time in seconds from the documented shape. */
export function drawRenderSeconds(random: () => number): number {
  // Box-Muller; 1 - random() keeps the logarithm finite.
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const { medianS, sigma, minS, maxS } = DOCUMENTED_RENDER_SECONDS;
  return Math.min(maxS, Math.max(minS, medianS * Math.exp(sigma * normal)));
}
