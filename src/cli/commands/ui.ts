import { Command } from "commander";
import type { UiFlags } from "../actions/ui.ts";
import { type CommandRunner, withEnvironmentHelp } from "../command-runner.ts";
import { COMMAND_VARIABLES } from "../environment-help.ts";

/** `video-gen ui`: the gallery for people who run `generate`, without a served stage or an Inngest server. */
export function uiCommand(runner: CommandRunner): Command {
  const command = new Command("ui")
    .description("serve the gallery of recorded generations (posters, players, filters, totals) to a browser")
    .option("--port <port>", "port to listen on", "3100")
    .option(
      "--host <host>",
      "address to listen on (beyond loopback only with VIDEO_GEN_UI_TOKEN)",
      "127.0.0.1",
    )
    .addHelpText(
      "after",
      `
Open the printed URL. With the embedded database (no DATABASE_URL) the gallery opens the database only while it
answers a page, so a \`video-gen generate\` in another terminal still gets it; while one runs, the page says so and
shows the records when it ends. Replay and Cancel are on the pages of \`video-gen serve\`; here use
\`video-gen replay <id>\` and \`video-gen cancel <id>\`.`,
    )
    .action((flags: UiFlags) =>
      runner.run(async () => (await import("../actions/ui.ts")).runUi(runner.io, flags)),
    );
  return withEnvironmentHelp(command, COMMAND_VARIABLES.ui);
}
