import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../../src/errors/configuration-error.ts";
import {
  describeDashscopeRegion,
  loadDashscopeApiKey,
  loadDashscopeCredentials,
  resolveDashscopeBaseUrl,
} from "../../../src/providers/dashscope/index.ts";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "dashscope-credentials-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function credentialsFile(name: string, text: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, text);
  return path;
}

describe("loadDashscopeApiKey", () => {
  it("prefers the explicit value over the file", async () => {
    const path = await credentialsFile("both", "[default]\ndashscope_api_key = sk-from-file\n");
    await expect(loadDashscopeApiKey({ apiKey: " sk-from-env ", credentialsFilePath: path })).resolves.toBe(
      "sk-from-env",
    );
  });

  it("reads dashscope_api_key under [default] only", async () => {
    const path = await credentialsFile(
      "ini",
      [
        "# Alibaba Cloud credentials",
        "[other]",
        "dashscope_api_key = sk-wrong-profile",
        "",
        "[ default ]",
        "access_key_id = LTAI-not-this",
        'dashscope_api_key = "sk-from-file-123"',
        "[later]",
        "dashscope_api_key = sk-later",
      ].join("\r\n"),
    );
    await expect(loadDashscopeApiKey({ apiKey: "", credentialsFilePath: path })).resolves.toBe(
      "sk-from-file-123",
    );
  });

  it("names both sources when the key is nowhere", async () => {
    const withoutKey = await credentialsFile(
      "nokey",
      "[default]\naccess_key_id = LTAI\n[other]\ndashscope_api_key = sk-x\n",
    );
    for (const credentialsFilePath of [withoutKey, join(directory, "missing")]) {
      const error = await loadDashscopeApiKey({ credentialsFilePath }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ retryable: false, code: "dashscope_api_key_missing" });
      expect((error as Error).message).toContain(
        "Set DASHSCOPE_API_KEY or add dashscope_api_key under [default] in ~/.alibabacloud/credentials",
      );
    }
  });
});

describe("resolveDashscopeBaseUrl", () => {
  it("defaults to Beijing and trims a trailing slash", () => {
    expect(resolveDashscopeBaseUrl()).toBe("https://dashscope.aliyuncs.com/api/v1");
    expect(resolveDashscopeBaseUrl("  ")).toBe("https://dashscope.aliyuncs.com/api/v1");
    expect(resolveDashscopeBaseUrl("https://dashscope-intl.aliyuncs.com/api/v1/")).toBe(
      "https://dashscope-intl.aliyuncs.com/api/v1",
    );
  });

  it("accepts workspace domains of Beijing and Singapore, and a local http sandbox", () => {
    expect(resolveDashscopeBaseUrl("https://ws1.cn-beijing.maas.aliyuncs.com/api/v1")).toBe(
      "https://ws1.cn-beijing.maas.aliyuncs.com/api/v1",
    );
    expect(resolveDashscopeBaseUrl("https://ws1.ap-southeast-1.maas.aliyuncs.com/api/v1")).toBe(
      "https://ws1.ap-southeast-1.maas.aliyuncs.com/api/v1",
    );
    expect(resolveDashscopeBaseUrl("http://127.0.0.1:8790/api/v1")).toBe("http://127.0.0.1:8790/api/v1");
  });

  it("rejects regions without wan2.6-i2v-flash, naming the ones that have it", () => {
    for (const url of [
      "https://dashscope-us.aliyuncs.com/api/v1",
      "https://ws9.eu-central-1.maas.aliyuncs.com/api/v1",
    ]) {
      expect(() => resolveDashscopeBaseUrl(url)).toThrow(ConfigurationError);
      expect(() => resolveDashscopeBaseUrl(url)).toThrow(/DASHSCOPE_HTTP_BASE_URL.*Beijing.*Singapore/);
    }
  });

  it("rejects non-http(s) and unparseable values, naming the variable", () => {
    for (const url of [
      "ftp://dashscope.aliyuncs.com/api/v1",
      "dashscope.aliyuncs.com",
      "file:///etc/passwd",
    ]) {
      expect(() => resolveDashscopeBaseUrl(url)).toThrow(/DASHSCOPE_HTTP_BASE_URL/);
    }
  });
});

describe("loadDashscopeCredentials", () => {
  it("says which setting the key came from, never the key", async () => {
    const path = await credentialsFile("source", "[default]\ndashscope_api_key = sk-from-file\n");
    await expect(
      loadDashscopeCredentials({ apiKey: "sk-from-env", credentialsFilePath: path }),
    ).resolves.toEqual({
      apiKey: "sk-from-env",
      source: "DASHSCOPE_API_KEY",
    });
    await expect(loadDashscopeCredentials({ apiKey: " ", credentialsFilePath: path })).resolves.toEqual({
      apiKey: "sk-from-file",
      source: `dashscope_api_key in ${path}`,
    });
  });
});

describe("describeDashscopeRegion", () => {
  it.each([
    ["https://dashscope.aliyuncs.com/api/v1", "the Beijing region"],
    ["https://dashscope-intl.aliyuncs.com/api/v1", "the Singapore region"],
    ["https://ws-123.cn-beijing.maas.aliyuncs.com/api/v1", "a Beijing workspace domain"],
    ["https://ws-123.ap-southeast-1.maas.aliyuncs.com/api/v1", "a Singapore workspace domain"],
    ["http://127.0.0.1:8790/api/v1", "host 127.0.0.1"],
  ])("%s is %s", (baseUrl, region) => {
    expect(describeDashscopeRegion(baseUrl)).toBe(region);
  });
});
