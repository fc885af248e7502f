import { createHash, randomUUID } from "node:crypto";
import { copyFile, link, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { RenderJob } from "./sandbox-render.ts";

/** Renders one clip into `job.outputPath` (the ffmpeg renderer's `render`). */
export type RenderFunction = (job: RenderJob, signal?: AbortSignal) => Promise<void>;

export interface RenderReuseOptions {
  /** Directory of the content-addressed clips (`<key>.mp4`); created on first use. */
  directory: string;
  /** Makes a clip that is not in the directory yet. */
  render: RenderFunction;
  /** The ffmpeg arguments of a job (`renderArguments`): the key is taken from them. */
  argumentsOf: (job: RenderJob) => string[];
}

/**
 * The key of a render: sha256 over the image's sha256 and everything else ffmpeg is told (frame size, duration, audio,
 * the seed's camera drift), taken from the ffmpeg arguments themselves so that nothing that changes the clip can be
 * left out of the key. Paths are replaced by placeholders: where a file lives does not change what it renders to.
 */
export function renderKey(
  imageSha256: string,
  job: RenderJob,
  argumentsOf: (job: RenderJob) => string[],
): string {
  const renderArguments = argumentsOf({ ...job, inputPath: "<input>", outputPath: "<output>" });
  return createHash("sha256")
    .update(JSON.stringify({ image: imageSha256, renderArguments }))
    .digest("hex");
}

const exists = (filePath: string) =>
  stat(filePath).then(
    () => true,
    () => false,
  );

/**
 * Render reuse: a job whose inputs were rendered before gets the stored clip (hard-linked, or copied where a link is
 * not possible) instead of another ffmpeg run, and identical jobs running at once share one run. The same inputs
 * render the same bytes anyway (ffmpeg and x264 are deterministic here), so reuse changes nothing a client can see;
 * it only stops the emulator from spending the machine's cores on repeated renders. Stored clips are never modified
 * (a new clip is written under a temporary name and renamed into place), so linking them into task folders is safe.
 */
export function createRenderReuse(options: RenderReuseOptions): RenderFunction {
  /** Clips being made now, by key: the second identical job waits for the first one's run. */
  const running = new Map<string, Promise<string>>();

  const produce = async (key: string, job: RenderJob, signal?: AbortSignal): Promise<string> => {
    const clipPath = path.join(options.directory, `${key}.mp4`);
    if (await exists(clipPath)) return clipPath;
    await mkdir(options.directory, { recursive: true });
    // ffmpeg picks the container from the extension, so the temporary name ends in .mp4 too.
    const partialPath = path.join(options.directory, `${key}.${randomUUID()}.partial.mp4`);
    try {
      await options.render({ ...job, outputPath: partialPath }, signal);
      await rename(partialPath, clipPath);
    } finally {
      await rm(partialPath, { force: true });
    }
    return clipPath;
  };

  return async (job, signal) => {
    const imageSha256 = createHash("sha256")
      .update(await readFile(job.inputPath))
      .digest("hex");
    const key = renderKey(imageSha256, job, options.argumentsOf);
    let clip = running.get(key);
    if (!clip) {
      clip = produce(key, job, signal).finally(() => running.delete(key));
      running.set(key, clip);
    }
    const clipPath = await clip;
    signal?.throwIfAborted();
    await rm(job.outputPath, { force: true });
    await link(clipPath, job.outputPath).catch(() => copyFile(clipPath, job.outputPath));
  };
}
