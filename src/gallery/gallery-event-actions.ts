import type { Inngest } from "inngest";
import { InputError } from "../errors/input-error.ts";
import type { VideoGenerateDependencies } from "../functions/video-generate-dependencies.ts";
import { videoGenerationRequested } from "../functions/video-generation-events.ts";
import { describeInngestUnreachable } from "../net/inngest-unreachable.ts";
import { announceCancel, cancelGeneration } from "../operations/cancel-generation.ts";
import { prepareReplay } from "../operations/replay-request.ts";
import { type GalleryActions, InngestUnreachableError } from "./gallery-actions.ts";

/**
 * Replay and Cancel through Inngest, as every other client does them: a replay is a `video/generation.requested`
 * event (a served function runs it), a cancel is the CLI's cancel plus `video/generation.cancel-requested`.
 */
export function createEventGalleryActions(input: {
  client: Inngest.Any;
  /** The variables the client was configured from, so an unreachable server's message names the one that set its URL. */
  environment?: Record<string, string | undefined>;
  dependencies: Pick<VideoGenerateDependencies, "provider" | "metadataStore" | "objectStore" | "settings">;
}): GalleryActions {
  const { client, dependencies } = input;

  const send = async <T>(body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      const unreachable = describeInngestUnreachable(error, client, input.environment);
      if (unreachable) throw new InngestUnreachableError(unreachable.message, unreachable.url);
      throw error;
    }
  };

  return {
    async replay(generationId, options) {
      const replay = await prepareReplay({
        generationId,
        force: options.force,
        metadataStore: dependencies.metadataStore,
        objectStore: dependencies.objectStore,
      });
      const event = videoGenerationRequested.create(
        replay.request as Parameters<typeof videoGenerationRequested.create>[0],
      );
      try {
        await event.validate();
      } catch (error) {
        throw new InputError([{ field: "request", message: (error as Error).message }]);
      }
      await send(() => client.send(event));
      return { generationId: replay.generationId, note: replay.imageNote };
    },

    async cancel(generationId, reason) {
      const outcome = await cancelGeneration({ generationId, reason, dependencies });
      if (!outcome.changed) {
        return {
          message: `Generation ${generationId} had already ended (${outcome.previousStatus}); nothing to cancel.`,
        };
      }
      const task = outcome.taskId
        ? outcome.providerTaskCanceled
          ? `provider task ${outcome.taskId} canceled while PENDING (not billed)`
          : `provider task ${outcome.taskId} was already running: it finishes and is billed`
        : "no provider task had been submitted";
      const done = `Canceled: ${task}; record marked canceled, budget slot freed.`;
      try {
        await send(() => announceCancel(client, generationId, reason, outcome));
      } catch (error) {
        // The cancel itself is done; only a served run still in flight was not told (it stops at its next check of the record).
        if (error instanceof InngestUnreachableError) {
          throw new InngestUnreachableError(`${done} But Inngest was not told: ${error.message}`, error.url);
        }
        throw error;
      }
      return { message: done };
    },
  };
}
