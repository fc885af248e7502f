import { loadConfig } from "../../config.ts";
import { ConfigurationError } from "../../errors/configuration-error.ts";
import { InputError } from "../../errors/input-error.ts";
import { backfillImageKeys, backfillPosters } from "../../media/backfill-posters.ts";
import { locateFfmpeg } from "../../media/ffmpeg-path.ts";
import { createPosterMaker } from "../../media/make-poster.ts";
import { createConfiguredObjectStore } from "../../storage/configured-object-store.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import { openMetadataStore } from "../open-metadata-store.ts";

/** The flags of `video-gen posters`, as commander parses them. */
export interface PostersFlags {
  backfill?: boolean;
  limit?: string;
  json?: boolean;
}

/** Largest `--limit`; without the flag every record is looked at. */
const LIMIT_MAX = 1_000_000;

function parseBackfillLimit(text: string | undefined): number {
  if (text === undefined) return LIMIT_MAX;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > LIMIT_MAX) {
    throw InputError.forField(
      "limit",
      `--limit must be a whole number from 1 to ${LIMIT_MAX}; got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * `video-gen posters --backfill`: posters for succeeded records made before the `poster` step (or whose poster
 * failed), and the image keys of records made before they were recorded. Safe to run again: only what is still
 * missing is done. Exits 0 when every poster was made, 5 when some failed (each one named on stderr).
 */
export async function runPosters(io: CliIo, flags: PostersFlags): Promise<number> {
  if (!flags.backfill) {
    throw InputError.forField("backfill", "posters needs --backfill (make posters for records without one)");
  }
  const limit = parseBackfillLimit(flags.limit);
  const config = loadConfig(io.environment);
  const ffmpegPath = locateFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath }).ffmpeg;
  if (!ffmpegPath) {
    throw new ConfigurationError(
      config.ffmpegPath
        ? `FFMPEG_PATH=${config.ffmpegPath} does not run`
        : "posters need ffmpeg: install it, run npm ci (it installs a copy), or set FFMPEG_PATH",
    );
  }
  const objects = createConfiguredObjectStore(config);
  try {
    const { metadataStore, close } = await openMetadataStore(config);
    try {
      const posters = await backfillPosters({
        metadataStore,
        objectStore: objects.objectStore,
        makePoster: createPosterMaker({ ffmpegPath }),
        limit,
        onFailure: (generationId, reason) => warn(io, `no poster for ${generationId}: ${reason}`),
      });
      const images = await backfillImageKeys({ metadataStore, objectStore: objects.objectStore, limit });
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ posters, image_keys: images }, null, 2)}\n`);
      } else {
        io.stdout.write(
          `Posters:     ${posters.made} made, ${posters.reused} reused, ${posters.failed} failed, ` +
            `${posters.missingVideo} without a stored video (${posters.examined} records without a poster)\n` +
            `Image keys:  ${images.recorded} recorded, ${images.notFound} not in the store ` +
            `(${images.examined} records without one)\n`,
        );
      }
      return posters.failed > 0 ? EXIT_CODES.storage : EXIT_CODES.success;
    } finally {
      await close();
    }
  } finally {
    objects.close();
  }
}
