#!/usr/bin/env node
// The package runs its TypeScript sources directly (tsx), so a clone works with `npm ci` alone: no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
