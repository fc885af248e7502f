import http from "node:http";
import path from "node:path";
import { loadConfig } from "../../config.ts";
import { galleryAvailability } from "../../gallery/gallery-access.ts";
import { isLoopbackHostname } from "../../gallery/gallery-security.ts";
import { toNodeHandler } from "../../gallery/node-http-adapter.ts";
import { createOperatorHandler } from "../../gallery/operator-handler.ts";
import { openEmbeddedDatabaseOnDemand } from "../../metadata/embedded-database-on-demand.ts";
import { createGenerationQueries } from "../../metadata/generation-queries.ts";
import { createPostgresMetadataStore } from "../../metadata/postgres-metadata-store.ts";
import { createPgSqlClient, type SqlClient } from "../../metadata/sql-client.ts";
import { createConfiguredObjectStore } from "../../storage/configured-object-store.ts";
import { type CliIo, warn } from "../cli-io.ts";
import { listen, serveUntilTerminated } from "../http-listen.ts";
import { parsePort } from "../parse-port.ts";

/** The flags of `video-gen ui`, as commander parses them. */
export interface UiFlags {
  port: string;
  host: string;
}

/**
 * Serves the gallery (pages, JSON API, media) over the records `generate` made, read-only: no API key, no Inngest
 * server. With the embedded database the connection is opened per burst of requests and released, so a `generate`
 * in another terminal is not locked out.
 */
export async function runUi(io: CliIo, flags: UiFlags): Promise<number> {
  const port = parsePort(flags.port);
  const config = loadConfig(io.environment);
  const access = {
    token: config.ui.token,
    loopbackOnly: isLoopbackHostname(flags.host),
    allowedHosts: config.ui.hosts,
  };
  const availability = galleryAvailability(access);
  if (!availability.enabled) {
    warn(io, `video-gen ui: the gallery would be ${availability.reason}`);
    return 3;
  }
  const sql: SqlClient = config.databaseUrl
    ? createPgSqlClient({ connectionString: config.databaseUrl })
    : openEmbeddedDatabaseOnDemand({ dataDir: path.join(config.outputDir, "metadata") }).sql;
  const stored = createConfiguredObjectStore(config);
  try {
    const metadataStore = createPostgresMetadataStore({ sql });
    await metadataStore.migrate();
    const report = (error: unknown) =>
      warn(io, `gallery request failed: ${error instanceof Error ? error.message : String(error)}`);
    const handler = toNodeHandler(
      createOperatorHandler({
        metadataStore,
        queries: createGenerationQueries({ sql }),
        objectStore: stored.objectStore,
        access,
        actionsDisabledReason:
          "Replay and Cancel are on the pages of video-gen serve; here use video-gen replay <id> or video-gen cancel <id>.",
        renderEstimateSeconds: config.renderEstimateSeconds,
        onError: report,
      }),
    );
    const server = http.createServer((request, response) => {
      const notFound = () => {
        if (request.url === "/") {
          response.writeHead(303, { location: "/gallery" });
          response.end();
          return;
        }
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "not found", endpoints: ["/gallery", "/api/generations"] }));
      };
      handler(request, response, notFound).catch((error: unknown) => {
        report(error);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
    const origin = await listen(server, port, flags.host);
    io.stdout.write(`Gallery at ${origin}/gallery (${availability.reason}; read-only)\n`);
    await serveUntilTerminated(io, server);
    return 0;
  } finally {
    stored.close();
    await sql.close();
  }
}
