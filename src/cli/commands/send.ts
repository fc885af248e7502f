import { randomUUID } from "node:crypto";
import { Command } from "commander";
import { loadConfig } from "../../config.ts";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { InputError } from "../../errors/input-error.ts";
import { videoGenerationRequested } from "../../functions/video-generation-events.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";
import { canSendEvents, createCliInngestClient } from "../inngest-client.ts";
import { type RequestFlags, requestFromFlags } from "../request-from-flags.ts";
import { addRequestOptions } from "../request-options.ts";

/** `video-gen send`: emits `video/generation.requested` to Inngest; a served `video-generate` function runs it. */
export function sendCommand(runner: CommandRunner): Command {
  const command = addRequestOptions(new Command("send"))
    .description("send a video/generation.requested event to Inngest (a running `serve` does the work)")
    .option("--json", "print { event_id, generation_id } as JSON")
    .addHelpText(
      "after",
      `
A local --image path is sent as an absolute path: the serving process reads it only under its REFERENCE_IMAGE_ROOT.
Prefer an https or s3:// URL for servers on other machines. A generation id (cli-<uuid>) is always set, so the run can
be canceled with \`video-gen cancel <id>\`.`,
    )
    .action((flags: RequestFlags & { json?: boolean }) =>
      runner.run(async () => {
        const { io } = runner;
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
          event = videoGenerationRequested.create(
            request as Parameters<typeof videoGenerationRequested.create>[0],
          );
          await event.validate();
        } catch (error) {
          throw new InputError([{ field: "request", message: (error as Error).message }]);
        }
        const { ids } = await client.send(event);
        const generationId = String(request.generation_id);
        io.stdout.write(
          flags.json
            ? `${JSON.stringify({ event_id: ids[0] ?? null, generation_id: generationId })}\n`
            : `Sent video/generation.requested: event ${ids[0] ?? "(no id returned)"}, generation ${generationId}\n` +
                `Follow it with: video-gen show ${generationId}   Cancel it with: video-gen cancel ${generationId}\n`,
        );
        return 0;
      }),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.send);
}
