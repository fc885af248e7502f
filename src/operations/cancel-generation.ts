import type { Inngest } from "inngest";
import { InputError } from "../errors/input-error.ts";
import { type CleanUpResult, cleanUpEvents, cleanUpGeneration } from "../functions/clean-up-generation.ts";
import type { VideoGenerateDependencies } from "../functions/video-generate-dependencies.ts";
import { videoGenerationCancelRequested } from "../functions/video-generation-events.ts";

/** What a cancel did, for the CLI's and the gallery's messages. */
export interface CancelOutcome extends CleanUpResult {
  /** The status the record had before. */
  previousStatus: string;
}

/**
 * Cancels a generation here, the way every client does (`video-gen cancel`, the gallery): the provider task is
 * canceled while PENDING, the record marked canceled and the budget slot freed. Then call {@link announceCancel}
 * when Inngest is configured, so a served run stops too.
 */
export async function cancelGeneration(input: {
  generationId: string;
  reason: string;
  dependencies: Pick<VideoGenerateDependencies, "provider" | "metadataStore" | "settings">;
}): Promise<CancelOutcome> {
  const { generationId, reason, dependencies } = input;
  const record = await dependencies.metadataStore.get(generationId);
  if (!record) {
    throw InputError.forField(
      "id",
      `no generation ${JSON.stringify(generationId)} is recorded (see video-gen list)`,
    );
  }
  const outcome = await cleanUpGeneration({
    generationId,
    ending: { kind: "canceled", reason },
    provider: dependencies.provider,
    metadataStore: dependencies.metadataStore,
    settings: dependencies.settings,
  });
  return { ...outcome, previousStatus: record.status };
}

/**
 * Sends `video/generation.cancel-requested`, so a served run stops at its next step, together with what the stage's
 * own cleanup would announce: `canceled` (the local cancel ended the record, so no function will), `settled`, and
 * `slot-granted` for the waiter the freed slot went to. Returns the first event's id.
 */
export async function announceCancel(
  client: Inngest.Any,
  generationId: string,
  reason: string,
  outcome: CleanUpResult,
): Promise<string | undefined> {
  const { ids } = await client.send([
    videoGenerationCancelRequested.create({ generation_id: generationId, reason }),
    ...cleanUpEvents(generationId, { kind: "canceled", reason }, outcome),
  ]);
  return ids[0];
}
