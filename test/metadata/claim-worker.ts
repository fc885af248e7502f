// Child process of the cross-process claim test: claims `cacheKey` for each generation id once the parent says "go".
import { createInterface } from "node:readline";
import { createPgSqlClient, createPostgresMetadataStore } from "../../src/metadata/index.ts";

const [databaseUrl, cacheKey, ids] = process.argv.slice(2);
const generationIds = (ids ?? "").split(",");
const store = createPostgresMetadataStore({
  sql: createPgSqlClient({ connectionString: databaseUrl!, max: generationIds.length }),
});
await store.countSlots(); // connect before the race
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "go") break;
}
const results = await Promise.all(
  generationIds.map((generationId) =>
    store.claim({ generationId, cacheKey: cacheKey!, imageSha256: "img", warnings: [] }),
  ),
);
process.stdout.write(`${JSON.stringify(results)}\n`);
await store.close();
