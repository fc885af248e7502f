import { type Inngest, realtime } from "inngest";
import { z } from "zod";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";

/**
 * Realtime channel `video-generation:<id>` with one topic, `progress`: the stage and provider status as the run moves,
 * for UIs subscribed through Inngest's realtime API (needs an Inngest server; optional, VIDEO_GEN_REALTIME=1).
 */
export const videoGenerationChannel = realtime.channel({
  name: ({ generationId }: { generationId: string }) => `video-generation:${generationId}`,
  topics: {
    progress: {
      schema: z.object({
        generation_id: z.string(),
        stage: z.string(),
        provider_status: z.string().nullable(),
        /** Rough 0..1 estimate from elapsed versus expected render time (the provider reports no percentage). */
        progress: z.number().nullable(),
      }),
    },
  },
});

/** Publishes each progress update to `video-generation:<id>` through the client's realtime API (non-durable). */
export function createRealtimeProgressPublisher(
  client: Inngest.Any,
): NonNullable<VideoGenerateDependencies["publishProgress"]> {
  return async (update) => {
    await client.realtime.publish(videoGenerationChannel({ generationId: update.generationId }).progress, {
      generation_id: update.generationId,
      stage: update.stage,
      provider_status: update.providerStatus ?? null,
      progress: update.progress ?? null,
    });
  };
}
