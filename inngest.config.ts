/**
 * The composition root: the only module that reads `process.env`. It builds the Inngest client and the stage's
 * dependencies and exports `{ client, functions }`, ready for any `serve()` adapter:
 *
 *   import { serve } from "inngest/node";
 *   import { client, functions } from "./inngest.config.ts";
 *   http.createServer(serve({ client, functions })).listen(3000);
 *
 * A host app with its own client uses `createVideoGenerateFunctions(itsClient, dependencies)` instead (src/index.ts).
 */
import { Inngest } from "inngest";
import { composeStage } from "./src/compose-stage.ts";
import { loadConfig } from "./src/config.ts";
import { createVideoGenerateFunctions } from "./src/functions/video-generate.ts";
import { videoGenerationChannel } from "./src/functions/video-generation-realtime.ts";

export const config = loadConfig(process.env);

/** App id `video-agent` (INNGEST_APP_ID overrides); INNGEST_DEV, INNGEST_SIGNING_KEY, … are read by the SDK. */
export const client = new Inngest({ id: config.inngestAppId });

export const stage = await composeStage(config);

if (config.realtime) {
  stage.dependencies.publishProgress = async (update) => {
    await client.realtime.publish(videoGenerationChannel({ generationId: update.generationId }).progress, {
      generation_id: update.generationId,
      stage: update.stage,
      provider_status: update.providerStatus ?? null,
      progress: update.progress ?? null,
    });
  };
}

export const functions = createVideoGenerateFunctions(client, stage.dependencies);
