/**
 * The composition root for a clone of the repository; the package publishes the same module as
 * `video-generate-stage/inngest-config` (src/inngest-config.ts).
 */
export { client, config, functions, stage } from "./src/inngest-config.ts";
