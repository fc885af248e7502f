import { readFile } from "node:fs/promises";
import { ConfigurationError } from "../../errors/configuration-error.ts";

/** Beijing, the SDK's default region. */
export const DASHSCOPE_DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/api/v1";

const MISSING_KEY_HINT =
  "Set DASHSCOPE_API_KEY or add dashscope_api_key under [default] in ~/.alibabacloud/credentials";

export interface LoadDashscopeApiKeyOptions {
  /** The `DASHSCOPE_API_KEY` value; wins when non-empty. */
  apiKey?: string;
  /** The Alibaba Cloud credentials file, normally `~/.alibabacloud/credentials` (INI). */
  credentialsFilePath: string;
}

/** The API key and the setting it came from (for messages: never the key itself). */
export interface DashscopeCredentials {
  apiKey: string;
  /** `DASHSCOPE_API_KEY`, or `dashscope_api_key in <credentials file>`. */
  source: string;
}

/**
 * Finds the DashScope API key and says where it came from: the explicit value (`DASHSCOPE_API_KEY`) first, else
 * `dashscope_api_key` in the `[default]` section of the credentials file. Throws `ConfigurationError` naming both.
 */
export async function loadDashscopeCredentials(
  options: LoadDashscopeApiKeyOptions,
): Promise<DashscopeCredentials> {
  const explicit = options.apiKey?.trim();
  const apiKey = await loadDashscopeApiKey(options);
  return {
    apiKey,
    source: explicit ? "DASHSCOPE_API_KEY" : `dashscope_api_key in ${options.credentialsFilePath}`,
  };
}

/**
 * Finds the DashScope API key: the explicit value first, else `dashscope_api_key` in the `[default]` section of
 * the credentials file (the convention of Alibaba's tools). Throws `ConfigurationError` naming both sources.
 */
export async function loadDashscopeApiKey(options: LoadDashscopeApiKeyOptions): Promise<string> {
  const explicit = options.apiKey?.trim();
  if (explicit) return explicit;

  let text: string;
  try {
    text = await readFile(options.credentialsFilePath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ConfigurationError(
        `No DashScope API key: DASHSCOPE_API_KEY is not set and ${options.credentialsFilePath} does not exist. ${MISSING_KEY_HINT}`,
        { code: "dashscope_api_key_missing" },
      );
    }
    throw new ConfigurationError(
      `No DashScope API key: DASHSCOPE_API_KEY is not set and ${options.credentialsFilePath} cannot be read (${(error as Error).message}). ${MISSING_KEY_HINT}`,
      { code: "dashscope_api_key_missing", cause: error },
    );
  }

  const key = readIniValue(text, "default", "dashscope_api_key");
  if (key) return key;
  throw new ConfigurationError(
    `No DashScope API key: DASHSCOPE_API_KEY is not set and ${options.credentialsFilePath} has no dashscope_api_key under [default]. ${MISSING_KEY_HINT}`,
    { code: "dashscope_api_key_missing" },
  );
}

/** Reads one `name = value` of one `[section]` from INI text; quotes around the value are dropped. */
function readIniValue(text: string, section: string, name: string): string | undefined {
  let current: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      current = header[1];
      continue;
    }
    if (current !== section) continue;
    const separator = line.indexOf("=");
    if (separator < 0 || line.slice(0, separator).trim() !== name) continue;
    const value = line
      .slice(separator + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, "$2");
    return value || undefined;
  }
  return undefined;
}

/** Region names of the hosts that offer the model (dashscope.md 1.1), for messages. */
const KNOWN_REGIONS: ReadonlyArray<{ matches: (host: string) => boolean; region: string }> = [
  { matches: (host) => host === "dashscope.aliyuncs.com", region: "the Beijing region" },
  { matches: (host) => host === "dashscope-intl.aliyuncs.com", region: "the Singapore region" },
  {
    matches: (host) => host.endsWith(".cn-beijing.maas.aliyuncs.com"),
    region: "a Beijing workspace domain",
  },
  {
    matches: (host) => host.endsWith(".ap-southeast-1.maas.aliyuncs.com"),
    region: "a Singapore workspace domain",
  },
];

/** Which region a base URL points to, in words: `the Beijing region`, or `host example.internal` when unknown. */
export function describeDashscopeRegion(baseUrl: string): string {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return "an unreadable URL";
  }
  return KNOWN_REGIONS.find((entry) => entry.matches(host))?.region ?? `host ${host}`;
}

/** Hosts of regions that do not offer `wan2.6-i2v-flash` (dashscope.md 1.1): Virginia and Frankfurt. */
const REGIONS_WITHOUT_MODEL: ReadonlyArray<{ matches: (host: string) => boolean; region: string }> = [
  { matches: (host) => host === "dashscope-us.aliyuncs.com", region: "US (Virginia)" },
  { matches: (host) => host.endsWith(".eu-central-1.maas.aliyuncs.com"), region: "Germany (Frankfurt)" },
];

/**
 * Validates `DASHSCOPE_HTTP_BASE_URL`: default Beijing; http(s) only; a trailing slash is dropped. Known regions
 * without the model are refused here, because the API would only answer later with a confusing 400 or 401.
 * Any other host (a workspace domain, a local sandbox) is accepted.
 */
export function resolveDashscopeBaseUrl(value?: string): string {
  const text = value?.trim();
  if (!text) return DASHSCOPE_DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(
      `DASHSCOPE_HTTP_BASE_URL must be an http(s) URL such as ${DASHSCOPE_DEFAULT_BASE_URL}; got ${JSON.stringify(text)}`,
      { code: "dashscope_base_url_invalid" },
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(
      `DASHSCOPE_HTTP_BASE_URL must use https (or http for a local server); got ${url.protocol.slice(0, -1)}`,
      { code: "dashscope_base_url_invalid" },
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigurationError(
      "DASHSCOPE_HTTP_BASE_URL must not carry credentials, a query or a fragment; pass the key as DASHSCOPE_API_KEY",
      { code: "dashscope_base_url_invalid" },
    );
  }
  const host = url.hostname.toLowerCase();
  const unsupported = REGIONS_WITHOUT_MODEL.find((entry) => entry.matches(host));
  if (unsupported) {
    throw new ConfigurationError(
      `DASHSCOPE_HTTP_BASE_URL points to ${unsupported.region} (${host}), which does not offer wan2.6-i2v-flash; use Beijing (https://dashscope.aliyuncs.com/api/v1) or Singapore (https://dashscope-intl.aliyuncs.com/api/v1), or their workspace domains`,
      { code: "dashscope_region_unsupported" },
    );
  }
  return url.toString().replace(/\/+$/, "");
}
