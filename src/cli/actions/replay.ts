import { fileURLToPath } from "node:url";
import { composeStage } from "../../compose-stage.ts";
import { loadConfig } from "../../config.ts";
import { InputError } from "../../errors/input-error.ts";
import type { GenerationRecord } from "../../metadata/generation-record.ts";
import type { MetadataStore } from "../../metadata/metadata-store.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { runGeneration } from "../run-generation.ts";

const STORED_IMAGE_EXTENSIONS = ["jpg", "png", "bmp", "webp"];

/** The first free `<id>-replay-<n>`. */
async function nextReplayId(metadataStore: MetadataStore, id: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = `${id}-replay-${n}`;
    if (!(await metadataStore.get(candidate))) return candidate;
  }
}

/**
 * The image to replay with. A data: URI is not kept in the record (only a description), and a signed URL lost its
 * query (a secret): then the copy the stage stored under images/<sha256>.<ext> is used.
 */
async function replayImage(record: GenerationRecord, objectStore: ObjectStore, io: CliIo): Promise<string> {
  const recorded = String(record.request.reference_image ?? "");
  if (recorded && !recorded.startsWith("data:") && !recorded.includes("<redacted>")) return recorded;
  const why = recorded.startsWith("data:")
    ? "was a data: URI, which is not kept"
    : "was a signed URL whose signature is not kept";
  if (record.imageSha256) {
    for (const extension of STORED_IMAGE_EXTENSIONS) {
      const key = `images/${record.imageSha256}.${extension}`;
      if (await objectStore.exists(key)) {
        const uri = objectStore.uriFor(key);
        const image = uri.startsWith("file://") ? fileURLToPath(uri) : uri;
        warn(io, `the recorded reference image ${why}; replaying with the stored copy ${image}`);
        return image;
      }
    }
  }
  throw InputError.forField(
    "reference_image",
    `generation ${record.generationId} cannot be replayed: its reference image ${why}, and no stored copy of it exists (images/${record.imageSha256 ?? "?"}.*)`,
  );
}

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
    const record = await metadataStore.get(id);
    if (!record)
      throw InputError.forField("id", `no generation ${JSON.stringify(id)} is recorded (see video-gen list)`);
    const generationId = await nextReplayId(metadataStore, id);
    const request = {
      ...record.request,
      reference_image: await replayImage(record, objectStore, io),
      cache: flags.force ? "refresh" : "use",
      generation_id: generationId,
    };
    warn(io, `replaying ${id} as ${generationId}${flags.force ? " (forced: rendering again)" : ""}`);
    const result = await runGeneration({ request, runtime, config, io, json: flags.json === true });
    return result.exitCode;
  } finally {
    await runtime.close();
  }
}
