import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { prepareReplay } from "../../operations/replay-request.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { runGeneration } from "../run-generation.ts";

/** The flags of `video-gen replay`, as commander parses them. */
export interface ReplayFlags {
  force?: boolean;
  json?: boolean;
}

/** Runs a recorded request again in this process, as `<id>-replay-<n>`. */
export async function runReplay(io: CliIo, id: string, flags: ReplayFlags): Promise<number> {
  const config = loadConfig(io.environment);
  const runtime = await composeStage(config, { localImages: "any" });
  try {
    const { metadataStore, objectStore } = runtime.dependencies;
    const replay = await prepareReplay({
      generationId: id,
      force: flags.force === true,
      metadataStore,
      objectStore,
    });
    if (replay.imageNote) warn(io, replay.imageNote);
    warn(io, `replaying ${id} as ${replay.generationId}${flags.force ? " (forced: rendering again)" : ""}`);
    const result = await runGeneration({
      request: replay.request,
      runtime,
      config,
      io,
      json: flags.json === true,
    });
    return result.exitCode;
  } finally {
    await runtime.close();
  }
}
