import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { listen } from "../../src/cli/http-listen.ts";
import { toNodeHandler } from "../../src/gallery/node-http-adapter.ts";
import { createOperatorHandler, type OperatorHandler } from "../../src/gallery/operator-handler.ts";
import { createGenerationQueries } from "../../src/metadata/generation-queries.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { createPostgresMetadataStore } from "../../src/metadata/postgres-metadata-store.ts";
import { createPgSqlClient, type SqlClient } from "../../src/metadata/sql-client.ts";
import { createConfiguredObjectStore } from "../../src/storage/configured-object-store.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";

/**
 * A host app mounts the operator routes under a prefix of its own, as bull-board mounts into Express or Hono: the
 * Fetch handler answers only its paths (a Fetch server falls through on `undefined`), and the Node adapter hands every
 * other path to the app's `next`.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: SqlClient;
let store: MetadataStore;
let outputDir: string;
let handler: OperatorHandler;

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  sql = createPgSqlClient({ connectionString: database.url });
  store = createPostgresMetadataStore({ sql });
  await store.migrate();
  await store.upsertGeneration({
    generationId: "mounted-1",
    request: { prompt: "a lighthouse at dusk", duration: 5 },
    cacheMode: "use",
    provider: "dashscope",
    model: "wan2.6-i2v-flash",
    correlation: { shot: "12" },
    runId: "run-mounted-1",
  });
  outputDir = await mkdtemp(path.join(tmpdir(), "operator-mount-"));
  handler = createOperatorHandler({
    basePath: "/ops/",
    metadataStore: store,
    queries: createGenerationQueries({ sql }),
    objectStore: createConfiguredObjectStore({ s3: undefined, outputDir, maxVideoBytes: 1024 }).objectStore,
    access: { token: undefined, loopbackOnly: true, allowedHosts: [] },
  });
});

afterAll(async () => {
  await store?.close();
  await database?.drop();
  await rm(outputDir, { recursive: true, force: true });
});

const request = (url: string) => new Request(url, { headers: { host: new URL(url).host } });

describe("the operator routes under a host app's prefix", () => {
  it("answer their paths under the prefix, link under it, and leave every other path to the app", async () => {
    const page = await handler(request("http://127.0.0.1:8080/ops/gallery"));
    expect(page?.status).toBe(200);
    const html = (await page?.text()) ?? "";
    expect(html).toContain('href="/ops/gallery/g/mounted-1"');
    expect(html).toContain('href="/ops/gallery/assets/gallery.css"');
    expect(html).toContain('data-base-path="/ops"');

    const json = await handler(request("http://127.0.0.1:8080/ops/api/generations?correlation=shot=12"));
    expect(json?.status).toBe(200);
    const body = (await json?.json()) as { generations: Array<{ generation_id: string; status: string }> };
    expect(body.generations.map((generation) => [generation.generation_id, generation.status])).toEqual([
      ["mounted-1", "pending"],
    ]);

    expect(await handler(request("http://127.0.0.1:8080/gallery"))).toBeUndefined();
    expect(await handler(request("http://127.0.0.1:8080/ops/elsewhere"))).toBeUndefined();
    // No metrics handler was given: the app's own /metrics (if any) is not shadowed.
    expect(await handler(request("http://127.0.0.1:8080/ops/metrics"))).toBeUndefined();
  });

  it("mount into node:http (or Express) through the adapter, which calls next for other paths", async () => {
    const mounted = toNodeHandler(handler);
    const server = http.createServer((incoming, response) => {
      void mounted(incoming, response, () => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("the app's own page");
      });
    });
    const origin = await listen(server, 0, "127.0.0.1");
    try {
      expect(await (await fetch(`${origin}/`)).text()).toBe("the app's own page");
      const detail = await fetch(`${origin}/ops/gallery/g/mounted-1`);
      expect(detail.status).toBe(200);
      expect(await detail.text()).toContain("a lighthouse at dusk");
      expect(detail.headers.get("content-security-policy")).toContain("default-src 'self'");
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
