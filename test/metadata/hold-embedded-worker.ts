// Child process of the on-demand test: opens the embedded database as `generate` does (waiting for the lock), writes
// one record, holds the database for a while, then closes it. Prints one JSON line when it has the database and one
// when it let go.
import { setTimeout as delay } from "node:timers/promises";
import { createPostgresMetadataStore, openEmbeddedDatabase } from "../../src/metadata/index.ts";

const [dataDir, holdMs, generationId] = process.argv.slice(2) as [string, string, string];
const started = Date.now();
try {
  const database = await openEmbeddedDatabase({ dataDir });
  process.stdout.write(`${JSON.stringify({ opened: true, waitedMs: Date.now() - started })}\n`);
  const store = createPostgresMetadataStore({ sql: database.sql });
  await store.upsertGeneration({
    generationId,
    request: { prompt: "written while the reader waited" },
    cacheMode: "use",
    provider: "dashscope",
    model: "wan2.6-i2v-flash",
    correlation: null,
    runId: null,
  });
  await delay(Number(holdMs));
  await database.close();
  process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
} catch (error) {
  const { name, code, message } = error as { name: string; code?: string; message: string };
  process.stdout.write(
    `${JSON.stringify({ opened: false, waitedMs: Date.now() - started, name, code, message })}\n`,
  );
}
