import { Command } from "commander";
import type { ServeFlags } from "../actions/serve.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/**
 * `video-gen serve`: the Inngest endpoint (`/api/inngest`) and `/healthz`. Cloud mode (the SDK's default) requires
 * INNGEST_SIGNING_KEY and INNGEST_EVENT_KEY; dev mode (INNGEST_DEV=1) accepts unsigned requests.
 */
export function serveCommand(runner: CommandRunner): Command {
  const command = new Command("serve")
    .description("serve the video-generate functions to Inngest (Cloud, self-hosted, or the dev server)")
    .option("--port <port>", "port to listen on", "3000")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .addHelpText(
      "after",
      `
Local development: run \`npx inngest-cli@latest dev -u http://localhost:3000/api/inngest\` and \`INNGEST_DEV=1 video-gen serve\`.
Production (cloud mode): INNGEST_SIGNING_KEY and INNGEST_EVENT_KEY are required (serve refuses to start without
them: requests are verified with the first, and every run ends by sending video/generation.completed, .failed or
.canceled with the second); set DATABASE_URL and S3_BUCKET for anything shared.`,
    )
    .action((flags: ServeFlags) =>
      runner.run(async () => (await import("../actions/serve.ts")).runServe(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.serve);
}
