import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import {
  createPgSqlClient,
  createPostgresMetadataStore,
  type EmbeddedDatabase,
  type MetadataStore,
  openEmbeddedDatabase,
  type SqlClient,
  videoKeyOfRecord,
  videoKeyOfStorageUri,
} from "../../src/metadata/index.ts";
import { posterKeyOf } from "../../src/metadata/media-keys.ts";
import { createTestDatabase } from "../helpers/postgres-cluster.ts";
import { response } from "./metadata-store-suite.ts";

describe("media keys", () => {
  it("derive the video's key from the storage URI of either store, without its prefix or directory", () => {
    expect(videoKeyOfStorageUri("s3://media/stage/t-1/videos/abc.mp4")).toBe("videos/abc.mp4");
    expect(videoKeyOfStorageUri("file:///srv/output/videos/abc.mp4")).toBe("videos/abc.mp4");
    expect(videoKeyOfStorageUri("file:///srv/output/videos/a%20b.mp4")).toBe("videos/a b.mp4");
    expect(videoKeyOfStorageUri("s3://media/")).toBeNull();
    expect(videoKeyOfRecord({ result: null })).toBeNull();
    expect(videoKeyOfRecord({ result: response("g1") })).toBe("videos/g1.mp4");
    expect(posterKeyOf("videos/abc.mp4", "webp")).toBe("posters/abc.webp");
    expect(posterKeyOf("videos/abc.mp4", "jpg")).toBe("posters/abc.jpg");
  });
});

/** The store methods of migration 004, on both backends. */
function describeOperatorMedia(label: string, open: () => { store: MetadataStore; sql: SqlClient }) {
  describe(label, () => {
    let store: MetadataStore;
    let sql: SqlClient;
    beforeAll(() => {
      ({ store, sql } = open());
    });
    beforeEach(async () => {
      await sql.query("TRUNCATE generations, provider_slots, provider_slot_waiters");
    });

    async function generation(
      generationId: string,
      ending: "succeeded" | "failed" | "pending",
      options: { imageSha256?: string; runId?: string } = {},
    ) {
      await store.upsertGeneration({
        generationId,
        request: { prompt: "a lighthouse" },
        cacheMode: "use",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: options.runId ?? `run-${generationId}`,
      });
      if (options.imageSha256) {
        await store.claim({
          generationId,
          cacheKey: `key-${generationId}`,
          imageSha256: options.imageSha256,
          warnings: [],
        });
      }
      if (ending === "succeeded") await store.recordSucceeded(generationId, response(generationId));
      if (ending === "failed") await store.recordFailed(generationId, { code: "x", message: "y" });
    }

    it("records a poster key and an image key on a record of any status, and forgets a poster", async () => {
      await generation("g-done", "succeeded");
      await generation("g-failed", "failed");
      expect(await store.get("g-done")).toMatchObject({ posterKey: null, imageKey: null });

      await store.recordPoster("g-done", "posters/g-done.webp");
      await store.recordImageKey("g-failed", `images/${"a".repeat(64)}.png`);
      expect(await store.get("g-done")).toMatchObject({ posterKey: "posters/g-done.webp" });
      expect(await store.get("g-failed")).toMatchObject({ imageKey: `images/${"a".repeat(64)}.png` });
      expect(
        (await store.list({ limit: 10 })).find((record) => record.generationId === "g-done"),
      ).toMatchObject({ posterKey: "posters/g-done.webp" });

      await store.recordPoster("g-done", null);
      expect((await store.get("g-done"))?.posterKey).toBeNull();
      await expect(store.recordPoster("nobody", "posters/x.webp")).rejects.toMatchObject({
        code: "generation_not_found",
        retryable: false,
      });
      await expect(store.recordImageKey("nobody", "images/x.png")).rejects.toMatchObject({
        code: "generation_not_found",
      });
    });

    it("forgets the poster when a new run starts a refreshed generation afresh", async () => {
      await generation("g-refresh", "succeeded");
      await store.recordPoster("g-refresh", "posters/g-refresh.webp");
      await store.upsertGeneration({
        generationId: "g-refresh",
        request: { prompt: "a lighthouse", cache: "refresh" },
        cacheMode: "refresh",
        provider: "dashscope",
        model: "wan2.6-i2v-flash",
        correlation: null,
        runId: "run-second",
      });
      expect(await store.get("g-refresh")).toMatchObject({ status: "pending", posterKey: null });
    });

    it("lists succeeded records without a poster, newest first, page after page", async () => {
      for (const id of ["p1", "p2", "p3", "p4", "p5"]) await generation(id, "succeeded");
      await generation("p-failed", "failed");
      await generation("p-running", "pending");
      await store.recordPoster("p3", "posters/p3.webp");

      const seen: string[] = [];
      let before: { createdAt: string; generationId: string } | undefined;
      for (let page = 0; page < 5; page++) {
        const records = await store.listMissingMedia({ missing: "poster", limit: 2, before });
        if (records.length === 0) break;
        expect(records.length).toBeLessThanOrEqual(2);
        seen.push(...records.map((record) => record.generationId));
        const last = records.at(-1)!;
        before = { createdAt: last.createdAt, generationId: last.generationId };
      }
      expect(seen).toEqual(["p5", "p4", "p2", "p1"]);
    });

    it("lists records with an image hash but no image key", async () => {
      await generation("i1", "succeeded", { imageSha256: "b".repeat(64) });
      await generation("i2", "failed", { imageSha256: "c".repeat(64) });
      await generation("i3", "succeeded", { imageSha256: "d".repeat(64) });
      await generation("i-none", "failed");
      await store.recordImageKey("i3", `images/${"d".repeat(64)}.jpg`);
      const records = await store.listMissingMedia({ missing: "image", limit: 10 });
      expect(records.map((record) => [record.generationId, record.imageSha256])).toEqual([
        ["i2", "c".repeat(64)],
        ["i1", "b".repeat(64)],
      ]);
    });
  });
}

let database: { url: string; drop(): Promise<void> };
let postgres: { store: MetadataStore; sql: SqlClient };
let embeddedDirectory: string;
let embedded: EmbeddedDatabase;
let embeddedStore: { store: MetadataStore; sql: SqlClient };

beforeAll(async () => {
  database = await createTestDatabase(inject("postgresUrl"));
  const sql = createPgSqlClient({ connectionString: database.url });
  postgres = { sql, store: createPostgresMetadataStore({ sql }) };
  await postgres.store.migrate();
  embeddedDirectory = await mkdtemp(path.join(os.tmpdir(), "operator-media-"));
  embedded = await openEmbeddedDatabase({ dataDir: path.join(embeddedDirectory, "metadata") });
  embeddedStore = { sql: embedded.sql, store: createPostgresMetadataStore({ sql: embedded.sql }) };
  await embeddedStore.store.migrate();
}, 60_000);

afterAll(async () => {
  await postgres?.store.close();
  await database?.drop();
  await embedded?.close();
  if (embeddedDirectory) await rm(embeddedDirectory, { recursive: true, force: true });
});

describeOperatorMedia("on PostgreSQL", () => postgres);
describeOperatorMedia("on the embedded PGlite", () => embeddedStore);
