import { homedir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_PRICE_TABLE, type PriceTable } from "./contract/cost-estimate.ts";
import { type UnsupportedPolicy, unsupportedPolicySchema } from "./contract/video-generate-request.ts";
import { ConfigurationError } from "./errors/configuration-error.ts";

/**
 * Every setting of the stage, read from the environment in exactly one place (`loadConfig`). Defaults let the
 * stage run with no server at all: the local video directory and the embedded database under OUTPUT_DIR.
 * docs/configuration.md lists each variable with its default.
 */
export interface StageConfig {
  dashscope: {
    /** DASHSCOPE_API_KEY; when absent, `dashscope_api_key` under [default] in `credentialsFilePath`. */
    apiKey: string | undefined;
    /** ~/.alibabacloud/credentials */
    credentialsFilePath: string;
    /** DASHSCOPE_HTTP_BASE_URL. Default Beijing `https://dashscope.aliyuncs.com/api/v1`. */
    baseUrl: string | undefined;
    /**
     * DASHSCOPE_INLINE_IMAGE_MAX_BYTES: under the `auto` image delivery, images up to this size go inline as a data:
     * URI when neither their own URL nor a presigned one applies; 0 (default): never. At most 10 MiB.
     */
    inlineImageMaxBytes: number;
  };
  /** OUTPUT_DIR. Default `output/ai-video-wan-video`; videos under `videos/`, the embedded database under `metadata/`. */
  outputDir: string;
  /** S3 settings; when S3_BUCKET is unset the local directory store is used. */
  s3:
    | {
        bucket: string;
        endpoint: string | undefined;
        region: string;
        prefix: string;
        forcePathStyle: boolean;
        publicBaseUrl: string | undefined;
        /** Whether the provider can fetch this store's presigned URLs: AWS S3, or a store with S3_PUBLIC_BASE_URL. */
        presignedReachable: boolean;
        /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set; otherwise the SDK's default chain. */
        credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
      }
    | undefined;
  /** DATABASE_URL (PostgreSQL); the embedded database when unset. */
  databaseUrl: string | undefined;
  /** INNGEST_APP_ID. Default `video-agent`. Other INNGEST_* variables are read by the Inngest SDK itself. */
  inngestAppId: string;
  /** VIDEO_GEN_REALTIME=1 publishes progress to the realtime channel `video-generation:<id>` (needs an Inngest server). */
  realtime: boolean;
  /** The operator pages (gallery, JSON API, media, `/metrics`). */
  ui: {
    /**
     * VIDEO_GEN_UI_TOKEN: the operator token (bearer or the login form's cookie). Unset: the pages are open on a
     * loopback server and off on any other. Never logged or shown.
     */
    token: string | undefined;
    /** VIDEO_GEN_UI_ACTIONS=1 offers Replay and Cancel on the detail page. Default off (read-only). */
    actions: boolean;
    /** VIDEO_GEN_UI_HOSTS: further Host header names the pages answer to (a proxy's public name). */
    hosts: string[];
  };
  /**
   * DASHSCOPE_PUSH_SECRET: the secret in the EventBridge target URL `POST /hooks/dashscope/<secret>`. Setting it turns
   * the completion push on (docs/push.md): the route is served and runs wait for the push as well as their schedule.
   * Unset: off. Never logged or shown.
   */
  pushSecret: string | undefined;
  /**
   * DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN: a loopback origin (`http://127.0.0.1:<port>`) whose certificates are
   * trusted besides EventBridge's official hosts: the sandbox's EventBridge emulator. Only loopback is accepted, so
   * it cannot open the route to certificates from elsewhere.
   */
  pushTestCertificateOrigin: string | undefined;
  /** VIDEO_GEN_ALLOW_HOSTS: `host[:port]` entries exempt from the private-address check (local test servers). */
  allowHosts: string[];
  /** REFERENCE_IMAGE_ROOT: the only directory server-side requests may read local images from. */
  referenceImageRoot: string | undefined;
  /**
   * VIDEO_GEN_IMAGE_DELIVERY: how reference images reach the model. `auto` (default): the request's own https URL, a
   * presigned URL of the object store when the internet can reach it (AWS S3, or S3_PUBLIC_BASE_URL set), a data: URI
   * up to DASHSCOPE_INLINE_IMAGE_MAX_BYTES, DashScope's temporary upload last. `presigned`, `data-uri` or `upload`
   * force one route.
   */
  imageDelivery: "auto" | "presigned" | "data-uri" | "upload";
  /**
   * VIDEO_GEN_RENDER_ESTIMATE_S: the expected render time that scales the poll schedule until the stage has learned
   * this deployment's own from its recorded renders (it seeds the learning); default from a table.
   */
  renderEstimateSeconds: number | undefined;
  /** VIDEO_GEN_DEADLINE_S: after this many seconds a task is canceled (if PENDING) and the run fails. Default 1800. */
  deadlineSeconds: number;
  /**
   * VIDEO_GEN_WATCH_INTERVAL_MS: how often the task watcher checks the tasks in flight (one list call each time), ms,
   * 200 to 60000. Default 1000, or 60000 with the completion push on. Shorter hands freed slots over sooner and costs
   * more provider queries (docs/task-watcher.md).
   */
  watchIntervalMs: number | undefined;
  /** VIDEO_GEN_BUDGET: provider tasks in flight at once across all processes. Default 5 (the model's documented limit). */
  budget: number;
  /** VIDEO_GEN_QUEUE_TIMEOUT_S: longest wait for a budget slot before the run fails. Default 10800 (3 h), at most 6 h. */
  queueTimeoutSeconds: number;
  /** VIDEO_GEN_UNSUPPORTED_POLICY: policy for fps/size/motion_strength when a request names none. Default `warn`. */
  defaultPolicy: UnsupportedPolicy;
  /** VIDEO_GEN_MAX_VIDEO_BYTES: largest result accepted. Default 2 GiB. */
  maxVideoBytes: number;
  /** VIDEO_GEN_PRICES: JSON price table `{ currency, perSecond: { "720P": {silent, audio}, "1080P": {...} } }`. */
  prices: PriceTable;
  /** FFMPEG_PATH / FFPROBE_PATH: explicit binaries; else the system's, else the npm installer's. */
  ffmpegPath: string | undefined;
  ffprobePath: string | undefined;
}

const positiveInteger = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int({ error: `${name} must be a whole number` })
    .positive({ error: `${name} must be greater than 0` });

const booleanFlag = (name: string) =>
  z
    .enum(["1", "0", "true", "false", "yes", "no", ""], { error: `${name} must be 1 or 0 (true/false)` })
    .transform((value) => value === "1" || value === "true" || value === "yes");

const priceTableSchema = z.object({
  currency: z.string().min(3),
  perSecond: z.object({
    "720P": z.object({ silent: z.number().nonnegative(), audio: z.number().nonnegative() }),
    "1080P": z.object({ silent: z.number().nonnegative(), audio: z.number().nonnegative() }),
  }),
});

const environmentSchema = z.object({
  DASHSCOPE_API_KEY: z.string().optional(),
  DASHSCOPE_HTTP_BASE_URL: z.string().optional(),
  DASHSCOPE_INLINE_IMAGE_MAX_BYTES: z.coerce
    .number({ error: "DASHSCOPE_INLINE_IMAGE_MAX_BYTES must be a number of bytes" })
    .int()
    .min(0)
    .max(10 * 1024 * 1024, {
      error: "DASHSCOPE_INLINE_IMAGE_MAX_BYTES must be at most 10485760 (10 MiB per data URI)",
    })
    .default(0),
  OUTPUT_DIR: z.string().min(1).default("output/ai-video-wan-video"),
  S3_BUCKET: z
    .string()
    .min(3, { error: "S3_BUCKET must be a bucket name of at least 3 characters" })
    .optional(),
  S3_ENDPOINT: z.url({ error: "S3_ENDPOINT must be a URL such as http://127.0.0.1:7480" }).optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_PREFIX: z.string().default(""),
  S3_FORCE_PATH_STYLE: booleanFlag("S3_FORCE_PATH_STYLE").optional(),
  S3_PUBLIC_BASE_URL: z.url({ error: "S3_PUBLIC_BASE_URL must be a URL" }).optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: "DATABASE_URL must be a postgres:// or postgresql:// URL" })
    .optional(),
  INNGEST_APP_ID: z.string().min(1).default("video-agent"),
  VIDEO_GEN_REALTIME: booleanFlag("VIDEO_GEN_REALTIME").default(false),
  VIDEO_GEN_ALLOW_HOSTS: z.string().default(""),
  VIDEO_GEN_UI_TOKEN: z
    .string()
    .min(16, { error: "VIDEO_GEN_UI_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)" })
    .optional(),
  VIDEO_GEN_UI_ACTIONS: booleanFlag("VIDEO_GEN_UI_ACTIONS").default(false),
  DASHSCOPE_PUSH_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,}$/, {
      error:
        "DASHSCOPE_PUSH_SECRET must be at least 16 characters of A-Z a-z 0-9 _ - (e.g. openssl rand -hex 24)",
    })
    .optional(),
  DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN: z
    .string()
    .regex(/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/, {
      error: "DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN must be a loopback origin such as http://127.0.0.1:8123",
    })
    .optional(),
  VIDEO_GEN_UI_HOSTS: z.string().default(""),
  REFERENCE_IMAGE_ROOT: z.string().min(1).optional(),
  VIDEO_GEN_IMAGE_DELIVERY: z
    .enum(["auto", "presigned", "data-uri", "upload"], {
      error: "VIDEO_GEN_IMAGE_DELIVERY must be auto, presigned, data-uri or upload",
    })
    .default("auto"),
  VIDEO_GEN_RENDER_ESTIMATE_S: z.coerce
    .number({ error: "VIDEO_GEN_RENDER_ESTIMATE_S must be a number of seconds" })
    .positive({ error: "VIDEO_GEN_RENDER_ESTIMATE_S must be greater than 0" })
    .optional(),
  VIDEO_GEN_DEADLINE_S: positiveInteger("VIDEO_GEN_DEADLINE_S")
    .max(86_399, {
      error: "VIDEO_GEN_DEADLINE_S must be below 86400: provider tasks and result URLs expire after 24 h",
    })
    .default(1800),
  VIDEO_GEN_BUDGET: positiveInteger("VIDEO_GEN_BUDGET").default(5),
  VIDEO_GEN_WATCH_INTERVAL_MS: positiveInteger("VIDEO_GEN_WATCH_INTERVAL_MS")
    .min(200, { error: "VIDEO_GEN_WATCH_INTERVAL_MS must be at least 200 (ms)" })
    .max(60_000, { error: "VIDEO_GEN_WATCH_INTERVAL_MS must be at most 60000 (ms)" })
    .optional(),
  VIDEO_GEN_QUEUE_TIMEOUT_S: positiveInteger("VIDEO_GEN_QUEUE_TIMEOUT_S")
    .max(21_600, {
      error:
        "VIDEO_GEN_QUEUE_TIMEOUT_S must be at most 21600 (6 h): a request queued longer is better sent again when the budget allows",
    })
    .default(10_800),
  VIDEO_GEN_UNSUPPORTED_POLICY: unsupportedPolicySchema.default("warn"),
  VIDEO_GEN_MAX_VIDEO_BYTES: positiveInteger("VIDEO_GEN_MAX_VIDEO_BYTES").default(2 * 1024 ** 3),
  VIDEO_GEN_PRICES: z.string().optional(),
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
  HOME: z.string().optional(),
});

/** Names of the variables `loadConfig` reads, for `--help` and the docs. */
export const CONFIG_VARIABLES = Object.keys(environmentSchema.shape);

/**
 * Reads the stage's settings from an environment (normally `process.env`). Missing or contradictory settings fail
 * here, at start, with a message naming the variable.
 */
export function loadConfig(environment: Record<string, string | undefined>): StageConfig {
  // Empty strings mean "unset", as in most shells' `VAR= command`.
  const present = Object.fromEntries(
    Object.entries(environment).filter(([name, value]) => name in environmentSchema.shape && value !== ""),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? "environment");
      return issue.message.includes(variable) ? issue.message : `${variable}: ${issue.message}`;
    });
    throw new ConfigurationError(`invalid configuration: ${messages.join("; ")}`);
  }
  const env = parsed.data;

  const hasKeyId = env.AWS_ACCESS_KEY_ID !== undefined;
  if (hasKeyId !== (env.AWS_SECRET_ACCESS_KEY !== undefined)) {
    throw new ConfigurationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  }
  const s3Only = ["S3_ENDPOINT", "S3_PUBLIC_BASE_URL"].filter((name) => present[name] !== undefined);
  if (!env.S3_BUCKET && s3Only.length > 0) {
    throw new ConfigurationError(
      `${s3Only.join(" and ")} set without S3_BUCKET: set S3_BUCKET to store videos in S3`,
    );
  }

  let prices = DEFAULT_PRICE_TABLE;
  if (env.VIDEO_GEN_PRICES) {
    let json: unknown;
    try {
      json = JSON.parse(env.VIDEO_GEN_PRICES);
    } catch {
      throw new ConfigurationError("VIDEO_GEN_PRICES must be JSON");
    }
    const table = priceTableSchema.safeParse(json);
    if (!table.success) {
      throw new ConfigurationError(
        'VIDEO_GEN_PRICES must look like {"currency":"CNY","perSecond":{"720P":{"silent":0.15,"audio":0.3},"1080P":{"silent":0.25,"audio":0.5}}}',
      );
    }
    prices = table.data;
  }

  const presignedReachable = Boolean(env.S3_BUCKET && (!env.S3_ENDPOINT || env.S3_PUBLIC_BASE_URL));
  if (env.VIDEO_GEN_IMAGE_DELIVERY === "presigned" && !presignedReachable) {
    throw new ConfigurationError(
      "VIDEO_GEN_IMAGE_DELIVERY=presigned needs an object store the provider can reach from the internet: S3_BUCKET on AWS (no S3_ENDPOINT), or S3_PUBLIC_BASE_URL set for an S3-compatible store",
    );
  }

  const allowHosts = env.VIDEO_GEN_ALLOW_HOSTS.split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of allowHosts) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(entry)) {
      throw new ConfigurationError(`VIDEO_GEN_ALLOW_HOSTS entries must be host or host:port; got "${entry}"`);
    }
  }

  return {
    dashscope: {
      apiKey: env.DASHSCOPE_API_KEY,
      credentialsFilePath: path.join(env.HOME ?? homedir(), ".alibabacloud", "credentials"),
      baseUrl: env.DASHSCOPE_HTTP_BASE_URL,
      inlineImageMaxBytes: env.DASHSCOPE_INLINE_IMAGE_MAX_BYTES,
    },
    outputDir: path.resolve(env.OUTPUT_DIR),
    s3: env.S3_BUCKET
      ? {
          bucket: env.S3_BUCKET,
          endpoint: env.S3_ENDPOINT,
          region: env.S3_REGION,
          prefix: env.S3_PREFIX,
          // S3-compatible servers (an explicit endpoint) usually need path-style URLs.
          forcePathStyle: env.S3_FORCE_PATH_STYLE ?? env.S3_ENDPOINT !== undefined,
          publicBaseUrl: env.S3_PUBLIC_BASE_URL,
          presignedReachable,
          credentials:
            env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
              ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
              : undefined,
        }
      : undefined,
    databaseUrl: env.DATABASE_URL,
    inngestAppId: env.INNGEST_APP_ID,
    realtime: env.VIDEO_GEN_REALTIME,
    ui: {
      token: env.VIDEO_GEN_UI_TOKEN,
      actions: env.VIDEO_GEN_UI_ACTIONS,
      hosts: env.VIDEO_GEN_UI_HOSTS.split(",")
        .map((host) => host.trim())
        .filter((host) => host.length > 0),
    },
    pushSecret: env.DASHSCOPE_PUSH_SECRET,
    pushTestCertificateOrigin: env.DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN,
    allowHosts,
    referenceImageRoot: env.REFERENCE_IMAGE_ROOT ? path.resolve(env.REFERENCE_IMAGE_ROOT) : undefined,
    imageDelivery: env.VIDEO_GEN_IMAGE_DELIVERY,
    renderEstimateSeconds: env.VIDEO_GEN_RENDER_ESTIMATE_S,
    deadlineSeconds: env.VIDEO_GEN_DEADLINE_S,
    watchIntervalMs: env.VIDEO_GEN_WATCH_INTERVAL_MS,
    budget: env.VIDEO_GEN_BUDGET,
    queueTimeoutSeconds: env.VIDEO_GEN_QUEUE_TIMEOUT_S,
    defaultPolicy: env.VIDEO_GEN_UNSUPPORTED_POLICY,
    maxVideoBytes: env.VIDEO_GEN_MAX_VIDEO_BYTES,
    prices,
    ffmpegPath: env.FFMPEG_PATH,
    ffprobePath: env.FFPROBE_PATH,
  };
}
