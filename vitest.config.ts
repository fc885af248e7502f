import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: [
      "test/setup/postgres.global.ts",
      "test/setup/s3.global.ts",
      "test/setup/inngest-server.global.ts",
      "test/setup/example-app.global.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: the suites start servers (PostgreSQL, S3, the sandbox, ffmpeg); more workers only thrash.
    maxWorkers: 2,
    pool: "forks",
  },
});
