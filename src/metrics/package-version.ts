import { createRequire } from "node:module";

/** The package's version, from its package.json (two levels up from both src/metrics and dist/metrics). */
export function packageVersion(): string {
  const manifest = createRequire(import.meta.url)("../../package.json") as { version: string };
  return manifest.version;
}
