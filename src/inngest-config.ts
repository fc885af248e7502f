/**
 * The composition root, published as `video-generate-stage/inngest-config`: with the CLI, the only module of the
 * package that reads `process.env`. Importing it builds the Inngest client and the stage's dependencies (it opens the metadata database)
 * and exports `{ config, client, stage, functions }`, ready for any `serve()` adapter:
 *
 *   import { serve } from "inngest/node";
 *   import { client, functions } from "video-generate-stage/inngest-config";
 *   http.createServer(serve({ client, functions })).listen(3000);
 *
 * A host app with its own client uses `createVideoGenerateFunctions(itsClient, dependencies)` from the main entry
 * instead. Call `stage.close()` on shutdown.
 */
import { Inngest } from "inngest";
import { composeStage } from "./compose-stage.ts";
import { loadConfig } from "./config.ts";
import { createVideoGenerateFunctions } from "./functions/video-generate.ts";
import { createRealtimeProgressPublisher } from "./functions/video-generation-realtime.ts";

export const config = loadConfig(process.env);

/** App id `video-agent` (INNGEST_APP_ID overrides); INNGEST_DEV, INNGEST_SIGNING_KEY, … are read by the SDK. */
export const client = new Inngest({ id: config.inngestAppId });

export const stage = await composeStage(config);

if (config.realtime) stage.dependencies.publishProgress = createRealtimeProgressPublisher(client);

export const functions = createVideoGenerateFunctions(client, stage.dependencies);
