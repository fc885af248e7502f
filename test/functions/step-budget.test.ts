import { afterEach, describe, expect, it } from "vitest";
import type { VideoGenerateDependencies } from "../../src/functions/video-generate-dependencies.ts";
import { runVideoGeneration } from "../../src/functions/video-generate-handler.ts";
import { EVENT_NAMES } from "../../src/functions/video-generation-events.ts";
import {
  INNGEST_MAX_STEPS_PER_RUN,
  WATCHED_CHECKS,
  worstCaseSteps,
} from "../../src/functions/wait-schedule.ts";
import type { ClaimResult } from "../../src/metadata/generation-record.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { ProviderTaskStatus, VideoProvider } from "../../src/providers/provider.ts";
import { type RunnerStepEvent, runInProcess } from "../../src/runner/in-process-runner.ts";
import type { RunnerClock } from "../../src/runner/runner-clock.ts";
import type { StoredVideo } from "../../src/storage/object-store.ts";
import { type StageHarness, sampleRequest, startStageHarness } from "../helpers/stage-harness.ts";

/** Time that jumps: every sleep and wait ends at once, and the stage's clock moves by its length. */
function virtualClock(): RunnerClock & { elapsedMs(): number } {
  const start = Date.now();
  let offsetMs = 0;
  return {
    now: () => new Date(start + offsetMs),
    sleep: async (milliseconds, signal) => {
      signal?.throwIfAborted();
      offsetMs += milliseconds;
      await Promise.resolve();
    },
    elapsedMs: () => offsetMs,
  };
}

/**
 * The longest path a run can take, scripted: two identical generations in turn hold the cache key and fail after
 * using up the duplicate checks between them; the third claim wins; no budget slot comes free until the last check
 * before the queue timeout; the task stays RUNNING until the last status check before the deadline, then succeeds.
 * No event ever arrives, so every wait runs to its fallback timeout; every release hands a slot to a waiter, so both
 * hand-overs (after the last poll and after persist) take their step.
 */
function longestPath(harness: StageHarness, clock: RunnerClock): VideoGenerateDependencies {
  const base = harness.dependencies;
  const settings = base.settings;
  const checksPerOwner = settings.maxDuplicateChecks / 2;
  let claims = 0;
  let ownerReads = 0;
  let slotChecks = 0;
  let firstSlotCheckAt: number | undefined;
  let statusChecks = 0;
  let submittedAt = 0;
  const store = base.metadataStore;
  const metadataStore: MetadataStore = {
    ...store,
    claim: async (input): Promise<ClaimResult> => {
      claims++;
      await store.claim(input);
      if (claims > 2) return { outcome: "claimed" };
      return {
        outcome: "attached",
        owner: { generationId: `owner-${claims}`, taskId: null, status: "pending" },
      };
    },
    get: async (generationId) => {
      if (!generationId.startsWith("owner-")) return store.get(generationId);
      ownerReads++;
      const own = await store.get("longest-path");
      return {
        ...own!,
        generationId,
        status: ownerReads % checksPerOwner === 0 ? "failed" : "submitted",
      };
    },
    acquireSlot: async (holder, options) => {
      slotChecks++;
      firstSlotCheckAt ??= clock.now().getTime();
      const queuedMs = clock.now().getTime() - firstSlotCheckAt;
      if (slotChecks === settings.maxSlotChecks || queuedMs >= settings.queueTimeoutMs - 1_000) {
        return store.acquireSlot(holder, options);
      }
      return { acquired: false, position: 1, waiting: 1 };
    },
    releaseSlot: async (holder, handOver) => {
      await store.releaseSlot(holder, handOver);
      return { grantedTo: ["queued-elsewhere"] };
    },
  };
  const provider: VideoProvider = {
    ...base.provider,
    start: async () => {
      submittedAt = clock.now().getTime();
      return { taskId: "task-longest" };
    },
    status: async (taskId): Promise<ProviderTaskStatus> => {
      statusChecks++;
      const rendering =
        statusChecks < settings.maxStatusChecks &&
        clock.now().getTime() - submittedAt < settings.deadlineMs - 1_000;
      return rendering
        ? { status: "running", taskId, providerStatus: "RUNNING" }
        : { status: "succeeded", taskId, videoUrl: "https://results.example/v.mp4", usage: null };
    },
  };
  const stored: StoredVideo = {
    key: "videos/x.mp4",
    uri: "file:///x.mp4",
    url: "file:///x.mp4",
    bytes: 1,
    sha256: "0".repeat(64),
    contentType: "video/mp4",
    media: { durationSeconds: 2, fps: 30, width: 1280, height: 720, videoCodec: "avc1", hasAudio: false },
  } as StoredVideo;
  return {
    ...base,
    provider,
    metadataStore,
    objectStore: { ...base.objectStore, copyFromUrl: async () => stored },
    now: clock.now,
  };
}

let harness: StageHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A deployment on Inngest, where the task watcher runs: its check counts (`watchedSettings`). */
const WATCHED = {
  taskWatcher: true,
  maxStatusChecks: WATCHED_CHECKS.status,
  maxSlotChecks: WATCHED_CHECKS.slot,
  maxDuplicateChecks: WATCHED_CHECKS.duplicate,
} as const;

describe("Inngest's 1,000 steps per run", () => {
  for (const [label, limits] of [
    ["the default settings", {}],
    [
      "the largest allowed queue timeout and deadline",
      { queueTimeoutMs: 21_600_000, deadlineMs: 86_399_000 },
    ],
    ["the default settings with the task watcher", WATCHED],
    [
      "the largest allowed queue timeout and deadline with the task watcher",
      { queueTimeoutMs: 21_600_000, deadlineMs: 86_399_000, ...WATCHED },
    ],
    [
      "the shortest queue timeout and deadline with the task watcher",
      { queueTimeoutMs: 1_000, deadlineMs: 1_000, ...WATCHED },
    ],
  ] as const) {
    it(`bounds the longest path under ${label}`, async () => {
      harness = await startStageHarness({ settings: { renderEstimateSeconds: undefined, ...limits } });
      const clock = virtualClock();
      const dependencies = longestPath(harness, clock);
      const steps: string[] = [];
      const onStep = (event: RunnerStepEvent) => {
        if (event.kind === "step-completed" || event.kind === "sleeping" || event.kind === "waiting") {
          steps.push(event.id);
        } else if (event.kind === "event-sent") steps.push(event.id);
      };
      const response = await runInProcess(
        (context) => runVideoGeneration(context, dependencies),
        { name: EVENT_NAMES.requested, data: sampleRequest({ generation_id: "longest-path" }) },
        { clock, onStep, runId: "run-longest" },
      );

      expect(response.task_id).toBe("task-longest");
      const settings = dependencies.settings;
      const count = (pattern: RegExp) => steps.filter((id) => pattern.test(id)).length;
      // Each kind of wait was drawn out as far as the settings allow: every claim round and duplicate check, slot
      // checks until the queue timeout, status checks until the deadline or their count.
      expect(count(/^claim/)).toBe(settings.maxClaimRounds);
      expect(count(/^duplicate-check/)).toBe(settings.maxDuplicateChecks);
      if (settings.taskWatcher) {
        // No watcher answers here: every check is the run's own, and each one that finds none wakes one.
        expect(count(/^slot-\d+$/)).toBe(settings.queueTimeoutMs < 2_000 ? 1 : settings.maxSlotChecks);
        expect(count(/^poll-\d+$/)).toBe(settings.deadlineMs < 2_000 ? 1 : settings.maxStatusChecks);
        expect(count(/^wake-watcher$/)).toBe(1);
        expect(count(/^wake-watcher-\d+$/)).toBe(count(/^poll-\d+$/) - 1);
        // The few checks still cover the whole wait: none ends a wait early for lack of checks.
        expect(worstCaseSteps(settings)).toBeLessThanOrEqual(60);
      } else {
        expect(count(/^slot-\d+$/)).toBeGreaterThan(settings.maxSlotChecks / 2);
        expect(count(/^poll-\d+$/)).toBeGreaterThan(40);
      }
      expect(steps).toEqual(expect.arrayContaining(["slot-handover", "persist-handover"]));
      expect(clock.elapsedMs()).toBeGreaterThan(settings.queueTimeoutMs + settings.deadlineMs - 2_000);
      expect(new Set(steps).size).toBe(steps.length);

      expect(steps.length).toBeLessThanOrEqual(worstCaseSteps(settings));
      expect(worstCaseSteps(settings)).toBeLessThan(INNGEST_MAX_STEPS_PER_RUN / 2);
    });
  }
});
