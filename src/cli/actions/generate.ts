import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import type { CliIo } from "../cli-io.ts";
import { defaultGenerationId, type RequestFlags, requestFromFlags } from "../request-from-flags.ts";
import { runGeneration } from "../run-generation.ts";

/** The flags of `video-gen generate`, as commander parses them. */
export type GenerateFlags = RequestFlags & { json?: boolean };

/** One request, in this process, against the configured provider and stores. */
export async function runGenerate(io: CliIo, flags: GenerateFlags): Promise<number> {
  const request = await requestFromFlags(flags, io.cwd);
  const generationId =
    typeof request.generation_id === "string" ? request.generation_id : defaultGenerationId(request);
  const config = loadConfig(io.environment);
  const runtime = await composeStage(config, { localImages: "any" });
  try {
    const result = await runGeneration({
      request: { ...request, generation_id: generationId },
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
