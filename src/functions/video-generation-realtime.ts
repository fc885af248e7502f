import { realtime } from "inngest";
import { z } from "zod";

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
