import { afterAll, beforeAll } from "vitest";
import { type DevEngine, startDevEngine } from "./dev-engine.ts";

/**
 * A suite's dev engine: started before the file's tests, closed after them (after the file's own later `afterAll`
 * hooks, which run first). The returned object is filled in by the `beforeAll`; read it only inside tests and hooks.
 */
export function useDevEngine(options: Parameters<typeof startDevEngine>[0] = {}): DevEngine {
  const engine = {} as DevEngine;
  beforeAll(async () => {
    Object.assign(engine, await startDevEngine(options));
  }, 180_000);
  afterAll(async () => {
    await engine.close?.();
  });
  return engine;
}
