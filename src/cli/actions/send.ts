import { randomUUID } from "node:crypto";
import { loadConfig } from "../../config.ts";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { InputError } from "../../errors/input-error.ts";
import { videoGenerationRequested } from "../../functions/video-generation-events.ts";
import { describeInngestUnreachable } from "../../net/inngest-unreachable.ts";
import type { CliIo } from "../cli-io.ts";
import { canSendEvents, createCliInngestClient } from "../inngest-client.ts";
import { type RequestFlags, requestFromFlags } from "../request-from-flags.ts";

/** The flags of `video-gen send`, as commander parses them. */
export type SendFlags = RequestFlags & { json?: boolean };

/** Emits `video/generation.requested` to Inngest; a served `video-generate` function runs it. */
export async function runSend(io: CliIo, flags: SendFlags): Promise<number> {
  const request = await requestFromFlags(flags, io.cwd);
  if (typeof request.generation_id !== "string") request.generation_id = `cli-${randomUUID()}`;
  const config = loadConfig(io.environment);
  const client = createCliInngestClient(config, io.environment);
  if (!canSendEvents(client)) {
    throw new ConfigurationError(
      "send needs INNGEST_EVENT_KEY to send to Inngest Cloud, or INNGEST_DEV=1 to send to a local Inngest dev server",
      { code: "inngest_event_key_missing" },
    );
  }
  let event: ReturnType<typeof videoGenerationRequested.create>;
  try {
    // Validated here, against the same schema the function uses, before anything is sent.
    event = videoGenerationRequested.create(request as Parameters<typeof videoGenerationRequested.create>[0]);
    await event.validate();
  } catch (error) {
    throw new InputError([{ field: "request", message: (error as Error).message }]);
  }
  let ids: string[];
  try {
    ({ ids } = await client.send(event));
  } catch (error) {
    // An unreachable server is a setting to fix (a URL, a server to start), not a crash: name the URL and its variables.
    const unreachable = describeInngestUnreachable(error, client, io.environment);
    if (!unreachable) throw error;
    throw new ConfigurationError(unreachable.message, { code: "inngest_unreachable", cause: error });
  }
  const generationId = String(request.generation_id);
  io.stdout.write(
    flags.json
      ? `${JSON.stringify({ event_id: ids[0] ?? null, generation_id: generationId })}\n`
      : `Sent video/generation.requested: event ${ids[0] ?? "(no id returned)"}, generation ${generationId}\n` +
          `Follow it with: video-gen show ${generationId}   Cancel it with: video-gen cancel ${generationId}\n`,
  );
  return 0;
}
