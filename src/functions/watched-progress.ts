import type { WanResolution } from "../contract/wan-model.ts";
import type { WatchedTask } from "../metadata/task-watch.ts";
import { estimateRenderMs, LEARNING_WINDOW } from "./render-estimate.ts";
import type { VideoGenerateDependencies } from "./video-generate-dependencies.ts";

/** Publishes a rendering task's estimate each time it passes another tenth of the expected render. */
export type WatchedProgress = (running: readonly WatchedTask[]) => Promise<void>;

/**
 * The live progress of tasks the watcher sees rendering, for the realtime channel (`video-generation:<id>`): a run
 * that waits for its signal no longer checks (and publishes) while its task renders, so the watcher publishes
 * `rendering` with elapsed ÷ expected render (the estimate the submit used: learned from this deployment's renders),
 * at most 0.95, once per tenth within one `watch-N` step. Nothing is written to the records (the gallery estimates
 * from the same times itself); without a publisher it does nothing. A failed publish is ignored.
 */
export function createWatchedProgress(
  dependencies: Pick<VideoGenerateDependencies, "metadataStore" | "settings" | "publishProgress">,
): WatchedProgress {
  const publish = dependencies.publishProgress;
  const published = new Map<string, number>();
  const recentByResolution = new Map<
    WanResolution,
    ReturnType<typeof dependencies.metadataStore.recentRenders>
  >();
  return async (running) => {
    if (!publish) return;
    for (const task of running) {
      if (task.resolution === null || task.durationSeconds === null) continue;
      let recent = recentByResolution.get(task.resolution);
      if (!recent) {
        recent = dependencies.metadataStore.recentRenders({
          resolution: task.resolution,
          limit: 4 * LEARNING_WINDOW,
        });
        recentByResolution.set(task.resolution, recent);
      }
      const { expectedMs } = estimateRenderMs({
        duration: task.durationSeconds,
        resolution: task.resolution,
        seedSeconds: dependencies.settings.renderEstimateSeconds,
        recent: await recent,
      });
      const progress = Math.min(0.95, Math.max(0.01, task.ageMs / Math.max(1, expectedMs)));
      const tenth = Math.floor(progress * 10);
      if ((published.get(task.generationId) ?? -1) >= tenth) continue;
      published.set(task.generationId, tenth);
      await publish({
        generationId: task.generationId,
        stage: "rendering",
        providerStatus: "RUNNING",
        progress: Math.round(progress * 100) / 100,
      }).catch(() => undefined);
    }
  };
}
