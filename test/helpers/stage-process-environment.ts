/**
 * The variables a stage process (`video-gen` as a CLI or a worker) needs against the sandbox, a database and an
 * output directory, with an empty home so no credentials file of the machine leaks in. `overrides` win; an empty value
 * removes the variable.
 */
export function stageProcessEnvironment(
  parts: {
    home: string;
    outputDir: string;
    databaseUrl: string;
    sandbox: { apiKey: string; baseUrl: string; port: number };
  },
  overrides: Record<string, string> = {},
): Record<string, string> {
  const environment: Record<string, string> = {
    HOME: parts.home,
    OUTPUT_DIR: parts.outputDir,
    DATABASE_URL: parts.databaseUrl,
    DASHSCOPE_API_KEY: parts.sandbox.apiKey,
    DASHSCOPE_HTTP_BASE_URL: parts.sandbox.baseUrl,
    VIDEO_GEN_ALLOW_HOSTS: `127.0.0.1:${parts.sandbox.port}`,
    VIDEO_GEN_RENDER_ESTIMATE_S: "1",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ""));
}
