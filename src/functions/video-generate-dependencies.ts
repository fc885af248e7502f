import type { CostEstimate, PriceTable } from "../contract/cost-estimate.ts";
import type { GenerationWarning } from "../contract/generation-warning.ts";
import type { UnsupportedPolicy } from "../contract/video-generate-request.ts";
import type { ConformedCopyInput } from "../media/copy-conformed.ts";
import type { MakePoster } from "../media/make-poster.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { VideoProvider } from "../providers/provider.ts";
import type { ObjectStore, StoredVideo } from "../storage/object-store.ts";
import type { ImageDeliverySettings } from "./steps/image-delivery.ts";

/** A reference image read and checked (see src/media/reference-image.ts). */
export interface ReferenceImage {
  bytes: Uint8Array;
  /** sha256 of `bytes`, hex. */
  sha256: string;
  contentType: string;
  /** `jpeg`, `png`, `bmp` or `webp`. */
  format: string;
  width: number;
  height: number;
  /** Set when the image came from a public https URL the provider can download itself. */
  publicUrl?: string;
  warnings: GenerationWarning[];
}

/** A progress update, written to the metadata store and, when configured, published to a realtime channel. */
export interface ProgressUpdate {
  generationId: string;
  stage: string;
  providerStatus?: string;
  /** Rough completion estimate 0..1 from elapsed versus expected render time; the provider reports no percentage. */
  progress?: number;
}

/** Structured logger (Inngest's is de-duplicated across replays). Never pass secrets. */
export interface StageLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Tunables of the function; defaults in `DEFAULT_STAGE_SETTINGS`. */
export interface StageSettings {
  /** Policy for requests that name none. */
  defaultPolicy: UnsupportedPolicy;
  /** Provider tasks in flight at once, account-wide. */
  budget: number;
  /** Lease of a budget slot; renewed at every status check, so it only runs out when a run has died. */
  slotLeaseMs: number;
  /** Deadline from submit; a PENDING task is canceled after it and the run fails. */
  deadlineMs: number;
  /**
   * Seeds the expected render time that scales the poll schedule (instead of the table by duration and tier) until
   * this deployment has recorded renders of its own to learn from (VIDEO_GEN_RENDER_ESTIMATE_S).
   */
  renderEstimateSeconds: number | undefined;
  /** How reference images reach the model. */
  imageDelivery: ImageDeliverySettings;
  /**
   * Whether task endings are signalled to runs (`video/generation.task-ended`, sent by the completion-push receiver):
   * then `wait-N` ends at the signal, with the schedule's delay as its timeout; otherwise it is a plain sleep.
   * Default false.
   */
  taskEndSignals?: boolean;
  /**
   * Whether the account-wide task watcher (`video-generate-watcher`) runs beside the function, as it does wherever
   * `createVideoGenerateFunctions` serves the functions: it learns when tasks end, frees and hands over their slots,
   * re-announces what a run missed and renews the leases of tasks still going. A run then waits for its task's ending
   * (implies `taskEndSignals`) with sparse fallback checks, and waits for slots and identical generations with
   * fallbacks that start at a minute. False in process (`generate`, the CLI), where each run checks on its schedule.
   */
  taskWatcher?: boolean;
  /**
   * How often the watcher checks the tasks in flight, ms (one task-list call covers them all); default 1,000, and
   * 60,000 when DashScope's completion push is configured (the checks then only catch a push that was lost).
   */
  watchIntervalMs?: number;
  /** Upper bound of status checks per run (each costs two of Inngest's 1,000 steps). */
  maxStatusChecks: number;
  /** Longest wait for a budget slot before the run fails with `budget_exhausted`, in ms. */
  queueTimeoutMs: number;
  /**
   * Checks for a budget slot per run, each costing two steps (a wait and a check). Waiters are woken by an event when
   * a slot is handed to them; the checks are the fallback, spaced so that this many cover `queueTimeoutMs`.
   */
  maxSlotChecks: number;
  /** Checks of an identical generation's record (all rounds together), each costing two steps (wait and check). */
  maxDuplicateChecks: number;
  /** How often to re-claim when the generation this one was attached to ends without a result. */
  maxClaimRounds: number;
  prices: PriceTable;
}

/** Everything the function needs from outside, injected so the host app, the tests and the CLI can supply their own. */
export interface VideoGenerateDependencies {
  provider: VideoProvider;
  objectStore: ObjectStore;
  metadataStore: MetadataStore;
  /** Reads, sniffs, bounds and hashes the reference image. */
  resolveImage(reference: string, options?: { signal?: AbortSignal }): Promise<ReferenceImage>;
  /** Center-crops to an aspect (width / height) for the conform policy. */
  cropImage(image: ReferenceImage, aspect: number): Promise<ReferenceImage>;
  /**
   * Downloads the provider's result, resamples/scales it with ffmpeg and stores it (conform policy).
   * Absent when ffmpeg is not available; `conform` then fails at validation.
   */
  copyConformed?(input: ConformedCopyInput): Promise<StoredVideo>;
  /**
   * Makes the poster of a local MP4 (ffmpeg's `thumbnail` filter over frames that are not black, 640 px, WebP or
   * JPEG). Absent when ffmpeg is not available; the `poster` step then records a warning instead of a poster.
   */
  makePoster?: MakePoster;
  /** Optional realtime publisher; failures are logged and ignored (no Inngest server must not fail a run). */
  publishProgress?(update: ProgressUpdate): Promise<void>;
  /** Clock, injectable for tests. */
  now(): Date;
  settings: StageSettings;
}

export type { CostEstimate };
