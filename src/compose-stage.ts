import path from "node:path";
import type { Dispatcher } from "undici";
import type { StageConfig } from "./config.ts";
import { ConfigurationError } from "./errors/configuration-error.ts";
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_CHECKS } from "./functions/poll-schedule.ts";
import type { VideoGenerateDependencies } from "./functions/video-generate-dependencies.ts";
import { slotWaitTimings, watchedSettings } from "./functions/wait-schedule.ts";
import { createConformedCopy } from "./media/copy-conformed.ts";
import { cropToAspect } from "./media/crop-image.ts";
import { locateFfmpeg } from "./media/ffmpeg-path.ts";
import { createPosterMaker } from "./media/make-poster.ts";
import { type LocalFileAccess, resolveReferenceImage } from "./media/reference-image.ts";
import { openEmbeddedDatabase } from "./metadata/embedded-database.ts";
import { createGenerationQueries, type GenerationQueries } from "./metadata/generation-queries.ts";
import type { MetadataStore } from "./metadata/metadata-store.ts";
import { readOperatorGauges } from "./metadata/operator-gauges.ts";
import { createPostgresMetadataStore } from "./metadata/postgres-metadata-store.ts";
import { createPgSqlClient, type SqlClient } from "./metadata/sql-client.ts";
import { instrumentMetadataStore } from "./metrics/instrument-metadata-store.ts";
import { instrumentObjectStore } from "./metrics/instrument-object-store.ts";
import { instrumentProvider } from "./metrics/instrument-provider.ts";
import { packageVersion } from "./metrics/package-version.ts";
import { createStageMetrics, type StageMetrics } from "./metrics/stage-metrics.ts";
import { createSafeFetcher, fetchBytes } from "./net/safe-fetch.ts";
import { createUrlGuard } from "./net/url-guard.ts";
import {
  loadDashscopeCredentials,
  resolveDashscopeBaseUrl,
} from "./providers/dashscope/dashscope-credentials.ts";
import { createDashscopeVideoProvider } from "./providers/dashscope/dashscope-video-provider.ts";
import { createConfiguredObjectStore } from "./storage/configured-object-store.ts";

/** What a host gets from `composeStage`: the dependencies of the function, a description for health checks, and close. */
export interface StageRuntime {
  dependencies: VideoGenerateDependencies;
  /**
   * The stage's Prometheus metrics, on a registry of their own, counted by these dependencies: serve them with
   * `createMetricsHandler({ metrics })` behind authentication (docs/metrics.md).
   */
  metrics: StageMetrics;
  /** The read side of the records for the gallery and its JSON API (filters, pages, totals, groups, queue places). */
  queries: GenerationQueries;
  /** Configuration summary without secrets (for `/healthz` and `--help`). */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface ComposeOptions {
  /**
   * Which local image paths requests may name: `any` for the CLI (its user's own files), otherwise only under
   * REFERENCE_IMAGE_ROOT (none when it is unset). Default: the server rule.
   */
  localImages?: "any" | "server";
  /** HTTP dispatcher for the provider client (tests). */
  providerDispatcher?: Dispatcher;
  /** Clock (tests). */
  now?: () => Date;
}

/**
 * Builds the stage's dependencies from configuration: provider, object store, metadata store (migrated), the image
 * reader with its path rule, the conform copier when ffmpeg exists. Fails at start, naming the setting, when
 * something is missing (e.g. no API key).
 */
export async function composeStage(config: StageConfig, options: ComposeOptions = {}): Promise<StageRuntime> {
  const { apiKey, source: apiKeySource } = await loadDashscopeCredentials({
    apiKey: config.dashscope.apiKey,
    credentialsFilePath: config.dashscope.credentialsFilePath,
  });
  const baseUrl = resolveDashscopeBaseUrl(config.dashscope.baseUrl);
  const dashscopeProvider = createDashscopeVideoProvider({
    apiKey,
    baseUrl,
    dispatcher: options.providerDispatcher,
    // A rejected key is reported as a configuration error naming these (the provider reads no environment).
    settingNames: {
      apiKey: apiKeySource,
      baseUrl: config.dashscope.baseUrl?.trim()
        ? "DASHSCOPE_HTTP_BASE_URL"
        : "DASHSCOPE_HTTP_BASE_URL (unset: the Beijing default)",
    },
  });

  const fetcher = createSafeFetcher({
    guard: createUrlGuard({ allowHosts: config.allowHosts }),
    maxBytes: config.maxVideoBytes,
  });
  const ffmpeg = locateFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
  if (config.ffmpegPath && !ffmpeg.ffmpeg) {
    throw new ConfigurationError(`FFMPEG_PATH=${config.ffmpegPath} does not run`);
  }

  const metrics = createStageMetrics({
    version: packageVersion(),
    model: dashscopeProvider.model,
    budgetLimit: config.budget,
    currency: config.prices.currency,
    // Read once per scrape from the shared database: every worker reports the same values (aggregate with max()).
    readGauges: () => readOperatorGauges(sql),
  });
  const provider = instrumentProvider(dashscopeProvider, metrics);

  const configured = createConfiguredObjectStore(config, fetcher);
  const readS3Object = configured.readS3Object;
  const objectStore = instrumentObjectStore(configured.objectStore, metrics);

  let sql: SqlClient;
  if (config.databaseUrl) {
    sql = createPgSqlClient({ connectionString: config.databaseUrl });
  } else {
    sql = (await openEmbeddedDatabase({ dataDir: path.join(config.outputDir, "metadata") })).sql;
  }
  // Counts generations started and finished when the database says the record changed (replays and retries do not).
  const metadataStore: MetadataStore = instrumentMetadataStore(createPostgresMetadataStore({ sql }), metrics);
  try {
    await metadataStore.migrate();
  } catch (error) {
    await sql.close();
    throw error;
  }

  const localFiles: LocalFileAccess =
    options.localImages === "any"
      ? { mode: "any" }
      : config.referenceImageRoot
        ? { mode: "root", root: config.referenceImageRoot }
        : { mode: "none" };

  const dependencies: VideoGenerateDependencies = {
    provider,
    objectStore,
    metadataStore,
    resolveImage: (reference, resolveOptions) =>
      resolveReferenceImage(reference, {
        fetchBytes: async (url, maxBytes, signal) =>
          (await fetchBytes(fetcher, url, { maxBytes, signal, subject: { field: "reference_image" } })).bytes,
        readS3Object,
        localFiles,
        ffmpegPath: ffmpeg.ffmpeg,
        signal: resolveOptions?.signal,
      }),
    cropImage: cropToAspect,
    copyConformed: ffmpeg.ffmpeg
      ? createConformedCopy({ ffmpegPath: ffmpeg.ffmpeg, fetcher, objectStore })
      : undefined,
    makePoster: ffmpeg.ffmpeg ? createPosterMaker({ ffmpegPath: ffmpeg.ffmpeg }) : undefined,
    now: options.now ?? (() => new Date()),
    settings: {
      defaultPolicy: config.defaultPolicy,
      budget: config.budget,
      slotLeaseMs: 5 * 60_000,
      deadlineMs: config.deadlineSeconds * 1000 || DEFAULT_DEADLINE_MS,
      renderEstimateSeconds: config.renderEstimateSeconds,
      imageDelivery: {
        mode: config.imageDelivery,
        presignedReachable: config.s3?.presignedReachable ?? false,
        inlineMaxBytes: config.dashscope.inlineImageMaxBytes,
        // Long enough for a task that waits at the provider until its deadline, and no longer.
        presignTtlSeconds: Math.min(7 * 86_400, config.deadlineSeconds + 600),
      },
      maxStatusChecks: DEFAULT_MAX_CHECKS,
      // Inngest allows 1,000 steps per run. Waiting is event-driven, so these counts bound only the fallback checks
      // and do not grow with the wait: at most 404 steps, whatever the queue timeout and deadline (`worstCaseSteps`
      // in wait-schedule.ts; test/functions/step-budget.test.ts walks the longest path).
      queueTimeoutMs: config.queueTimeoutSeconds * 1000,
      maxSlotChecks: 48,
      maxDuplicateChecks: 48,
      maxClaimRounds: 3,
      prices: config.prices,
      // With the completion push on, each wait also ends on the push's task-ended event.
      taskEndSignals: config.pushSecret !== undefined,
      // With the push, the watcher's own checks only catch a push that was lost: one list call a minute.
      watchIntervalMs: config.watchIntervalMs ?? (config.pushSecret !== undefined ? 60_000 : undefined),
    },
  };

  return {
    dependencies,
    metrics,
    queries: createGenerationQueries({
      sql,
      // Waiters of runs on Inngest check as rarely as a watched deployment lets them: counted live that long.
      staleWaiterMs: slotWaitTimings(watchedSettings(dependencies.settings)).staleWaiterMs,
    }),
    describe: () => ({
      provider: { name: provider.name, model: provider.model, base_url: baseUrl, api_key: "set" },
      object_store: config.s3
        ? {
            kind: "s3",
            bucket: config.s3.bucket,
            endpoint: config.s3.endpoint ?? "aws",
            prefix: config.s3.prefix,
          }
        : { kind: "local", directory: path.join(config.outputDir, "videos") },
      metadata_store: config.databaseUrl
        ? { kind: "postgresql" }
        : { kind: "embedded", directory: path.join(config.outputDir, "metadata") },
      ffmpeg: ffmpeg.ffmpeg ? "available" : "missing (unsupported=conform refused, no posters)",
      budget: config.budget,
      image_delivery: config.imageDelivery,
      deadline_s: config.deadlineSeconds,
      default_policy: config.defaultPolicy,
    }),
    close: () => sql.close(),
  };
}
