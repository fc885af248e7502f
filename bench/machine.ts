import { readFileSync } from "node:fs";
import os from "node:os";

/** The machine a benchmark ran on, for the results tables. */
export function describeMachine(): string {
  let cpu = os.cpus()[0]?.model ?? "unknown CPU";
  try {
    cpu = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {
    // Not Linux: os.cpus() is good enough.
  }
  const memory = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${os.cpus().length} cores (${cpu.trim()}), ${memory} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}`;
}

export const percentile = (sorted: number[], fraction: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
