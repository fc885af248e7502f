/** One environment variable as `--help` and docs/configuration.md describe it. */
export interface VariableHelp {
  name: string;
  /** The default, or `unset` / `-` when there is none. */
  defaultValue: string;
  meaning: string;
}

/**
 * Every variable `loadConfig` reads (src/config.ts is the source of the meanings and defaults), plus the Inngest SDK's
 * own and the sandbox key. A test checks that each of CONFIG_VARIABLES is described here. This module does not import
 * src/config.ts: `--help` must not load zod.
 */
export const VARIABLE_HELP: Record<string, VariableHelp> = Object.fromEntries(
  (
    [
      [
        "DASHSCOPE_API_KEY",
        "unset",
        "DashScope API key; when unset, dashscope_api_key under [default] in ~/.alibabacloud/credentials",
      ],
      [
        "DASHSCOPE_HTTP_BASE_URL",
        "https://dashscope.aliyuncs.com/api/v1",
        "API base URL: Beijing (default) or Singapore https://dashscope-intl.aliyuncs.com/api/v1",
      ],
      [
        "DASHSCOPE_INLINE_IMAGE_MAX_BYTES",
        "0",
        "images up to this size are sent inline as a data: URI; 0 always uploads them",
      ],
      [
        "OUTPUT_DIR",
        "output/ai-video-wan-video",
        "local videos under videos/, the embedded database under metadata/",
      ],
      ["S3_BUCKET", "unset", "store videos in this S3 bucket instead of OUTPUT_DIR"],
      ["S3_ENDPOINT", "unset (AWS)", "S3-compatible endpoint, e.g. http://127.0.0.1:7480"],
      ["S3_REGION", "us-east-1", "S3 region"],
      ["S3_PREFIX", "empty", "key prefix inside the bucket"],
      ["S3_FORCE_PATH_STYLE", "1 with S3_ENDPOINT, else 0", "path-style bucket URLs"],
      ["S3_PUBLIC_BASE_URL", "unset", "public base URL for video_url (a CDN); otherwise the bucket URL"],
      [
        "AWS_ACCESS_KEY_ID",
        "unset",
        "S3 credentials (with AWS_SECRET_ACCESS_KEY); otherwise the SDK's default chain",
      ],
      ["AWS_SECRET_ACCESS_KEY", "unset", "S3 secret key"],
      [
        "DATABASE_URL",
        "unset",
        "PostgreSQL URL; when unset an embedded database under OUTPUT_DIR/metadata (one process)",
      ],
      ["INNGEST_APP_ID", "video-agent", "Inngest app id"],
      [
        "VIDEO_GEN_REALTIME",
        "0",
        "1 publishes progress to the realtime channel video-generation:<id> (needs an Inngest server)",
      ],
      [
        "VIDEO_GEN_UI_TOKEN",
        "unset",
        "operator token for the gallery, JSON API, media and /metrics (bearer or sign-in); unset: loopback only",
      ],
      ["VIDEO_GEN_UI_ACTIONS", "0", "1 offers Replay and Cancel on the gallery's detail page (serve)"],
      ["VIDEO_GEN_UI_HOSTS", "empty", "further Host names the gallery answers to (a proxy's public name)"],
      [
        "DASHSCOPE_PUSH_SECRET",
        "unset",
        "secret of the EventBridge push route POST /hooks/dashscope/<secret> (serve); set: completion push on",
      ],
      [
        "DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN",
        "unset",
        "loopback origin of the sandbox's EventBridge emulator, trusted for push certificates (tests)",
      ],
      [
        "VIDEO_GEN_ALLOW_HOSTS",
        "empty",
        "host[:port] list exempt from the private-address check (local test servers)",
      ],
      [
        "REFERENCE_IMAGE_ROOT",
        "unset",
        "the only directory served requests may read local images from (the CLI reads any path)",
      ],
      [
        "VIDEO_GEN_IMAGE_DELIVERY",
        "auto",
        "how reference images reach the model: auto (own https URL, presigned store URL, data: URI, upload), presigned, data-uri or upload",
      ],
      [
        "VIDEO_GEN_RENDER_ESTIMATE_S",
        "from a table (53 s for 5 s at 720P)",
        "expected render time the poll schedule starts from (it then learns this deployment's own)",
      ],
      ["VIDEO_GEN_DEADLINE_S", "1800", "after this, a PENDING task is canceled and the run fails"],
      ["VIDEO_GEN_BUDGET", "5", "provider tasks in flight at once across all processes"],
      [
        "VIDEO_GEN_QUEUE_TIMEOUT_S",
        "10800",
        "longest wait for a budget slot before budget_exhausted (at most 21600)",
      ],
      [
        "VIDEO_GEN_WATCH_INTERVAL_MS",
        "1000 (60000 with the push)",
        "how often the task watcher checks the tasks in flight, 200-60000 ms (serve)",
      ],
      [
        "VIDEO_GEN_UNSUPPORTED_POLICY",
        "warn",
        "policy for fps/size/motion_strength when a request names none: warn|strict|conform",
      ],
      ["VIDEO_GEN_MAX_VIDEO_BYTES", "2147483648", "largest result accepted"],
      ["VIDEO_GEN_PRICES", "Beijing list prices (CNY)", "JSON price table for cost_estimate"],
      [
        "FFMPEG_PATH",
        "system ffmpeg, else the npm one",
        "ffmpeg binary (conform policy, posters, sandbox renders)",
      ],
      ["FFPROBE_PATH", "system ffprobe, else the npm one", "ffprobe binary"],
      ["HOME", "the user's home", "where ~/.alibabacloud/credentials is looked up"],
      [
        "INNGEST_DEV",
        "unset (cloud mode)",
        "1 = dev mode: unsigned requests accepted, events to the dev server (never expose)",
      ],
      ["INNGEST_SIGNING_KEY", "unset", "required by serve in cloud mode; requests must be signed with it"],
      ["INNGEST_SIGNING_KEY_FALLBACK", "unset", "previous signing key during rotation"],
      [
        "INNGEST_EVENT_KEY",
        "unset",
        "needed to send events to Inngest Cloud; serve requires it in cloud mode (its runs send events)",
      ],
      [
        "INNGEST_BASE_URL",
        "Inngest Cloud, or http://localhost:8288 in dev",
        "self-hosted Inngest server URL",
      ],
      [
        "INNGEST_EVENT_API_BASE_URL",
        "INNGEST_BASE_URL",
        "where events are sent, when not at INNGEST_BASE_URL (read by the Inngest SDK)",
      ],
      ["SANDBOX_API_KEY", "sk-sandbox", "the key the sandbox accepts (sandbox command only)"],
      ["DEBUG", "unset", "any value prints stack traces of unexpected errors (as --verbose)"],
    ] as const
  ).map(([name, defaultValue, meaning]) => [name, { name, defaultValue, meaning }]),
);

const PROVIDER = ["DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_INLINE_IMAGE_MAX_BYTES", "HOME"];
const STORAGE = [
  "OUTPUT_DIR",
  "S3_BUCKET",
  "S3_ENDPOINT",
  "S3_REGION",
  "S3_PREFIX",
  "S3_FORCE_PATH_STYLE",
  "S3_PUBLIC_BASE_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
];
const RUN = [
  "VIDEO_GEN_ALLOW_HOSTS",
  "VIDEO_GEN_IMAGE_DELIVERY",
  "VIDEO_GEN_RENDER_ESTIMATE_S",
  "VIDEO_GEN_DEADLINE_S",
  "VIDEO_GEN_BUDGET",
  "VIDEO_GEN_QUEUE_TIMEOUT_S",
  "VIDEO_GEN_WATCH_INTERVAL_MS",
  "VIDEO_GEN_UNSUPPORTED_POLICY",
  "VIDEO_GEN_MAX_VIDEO_BYTES",
  "VIDEO_GEN_PRICES",
  "FFMPEG_PATH",
  "FFPROBE_PATH",
];
const INNGEST_SEND = [
  "INNGEST_APP_ID",
  "INNGEST_EVENT_KEY",
  "INNGEST_DEV",
  "INNGEST_BASE_URL",
  "INNGEST_EVENT_API_BASE_URL",
];

/** The variables each command reads. */
export const COMMAND_VARIABLES = {
  generate: [...PROVIDER, ...STORAGE, "DATABASE_URL", ...RUN, "DEBUG"],
  replay: [...PROVIDER, ...STORAGE, "DATABASE_URL", ...RUN, "DEBUG"],
  // Everything loadConfig reads (a test checks that against CONFIG_VARIABLES), then the SDK's own.
  serve: [
    ...PROVIDER,
    ...STORAGE,
    "DATABASE_URL",
    "REFERENCE_IMAGE_ROOT",
    "VIDEO_GEN_REALTIME",
    "VIDEO_GEN_UI_TOKEN",
    "VIDEO_GEN_UI_ACTIONS",
    "VIDEO_GEN_UI_HOSTS",
    "DASHSCOPE_PUSH_SECRET",
    "DASHSCOPE_PUSH_TEST_CERTIFICATE_ORIGIN",
    ...RUN,
    "INNGEST_APP_ID",
    "INNGEST_DEV",
    "INNGEST_SIGNING_KEY",
    "INNGEST_SIGNING_KEY_FALLBACK",
    "INNGEST_BASE_URL",
    "INNGEST_EVENT_KEY",
  ],
  send: INNGEST_SEND,
  cancel: [...PROVIDER, "OUTPUT_DIR", "DATABASE_URL", ...INNGEST_SEND],
  list: ["OUTPUT_DIR", "DATABASE_URL"],
  ui: [...STORAGE, "DATABASE_URL", "VIDEO_GEN_UI_TOKEN", "VIDEO_GEN_UI_HOSTS", "VIDEO_GEN_RENDER_ESTIMATE_S"],
  show: ["OUTPUT_DIR", "DATABASE_URL"],
  totals: ["OUTPUT_DIR", "DATABASE_URL"],
  posters: [...STORAGE, "DATABASE_URL", "FFMPEG_PATH"],
  sandbox: ["SANDBOX_API_KEY", "FFMPEG_PATH"],
  demo: ["OUTPUT_DIR", "DATABASE_URL", "FFMPEG_PATH", "FFPROBE_PATH"],
} as const satisfies Record<string, readonly string[]>;

/** The "Environment:" block appended to a command's `--help`. */
export function environmentHelp(names: readonly string[]): string {
  const rows = [...new Set(names)].map(
    (name) => VARIABLE_HELP[name] ?? { name, defaultValue: "-", meaning: "" },
  );
  const width = Math.max(...rows.map((row) => row.name.length));
  const lines = rows.map(
    (row) => `  ${row.name.padEnd(width)}  ${row.meaning} (default: ${row.defaultValue})`,
  );
  return `\nEnvironment (docs/configuration.md):\n${lines.join("\n")}\n`;
}
