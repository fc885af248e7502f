/**
 * `video-gen` from the TypeScript sources, as the tests run it (`node --import tsx test/cli/video-gen-source.ts …`):
 * the same two lines as bin/video-gen.js, which runs the compiled dist/, so no test ever runs a stale build.
 */
import { main } from "../../src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
