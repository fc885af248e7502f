import { readFileSync } from "node:fs";
import { createPgSqlClient, migrate } from "./src/metadata/index.ts";
import { createTestDatabase, startPostgresCluster } from "./test/helpers/postgres-cluster.ts";
import { seedGenerations } from "./bench/seed-generations.ts";
const cluster = await startPostgresCluster();
const db = await createTestDatabase(cluster.url);
const sql = createPgSqlClient({ connectionString: db.url, max: 2 });
await migrate(sql);
const seeded = await seedGenerations(sql, { count: Number(process.argv[2] ?? 100000) });

console.log(seeded.pipelineRun, seeded.seed);
const mid = (await sql.query<any>(`SELECT created_at, generation_id FROM generations ORDER BY created_at DESC, generation_id DESC OFFSET 50000 LIMIT 1`)).rows[0];
const queries = readFileSync(process.argv[3] ?? "/tmp/gq/queries.sql", "utf8").split(/;\s*\n/).filter((q) => q.trim());
for (const q of queries) {
  const text = q.replaceAll(":mid_at", `'${mid.created_at.toISOString()}'`).replaceAll(":mid_id", `'${mid.generation_id}'`);
  console.log("\n=== " + text.trim().slice(0, 300));
  if (/^\s*(CREATE|VACUUM|DROP|SET|SELECT pg_|SELECT rel)/i.test(text)) { console.log(JSON.stringify((await sql.query(text)).rows)); continue; }
  for (let i = 0; i < 3; i++) await sql.query(text);
  const { rows } = await sql.query<any>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`);
  console.log(rows.map((r) => r["QUERY PLAN"]).join("\n"));
}
await sql.close(); await db.drop(); await cluster.destroy();
