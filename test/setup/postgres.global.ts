import type { TestProject } from "vitest/node";
import { startPostgresCluster } from "../helpers/postgres-cluster.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the PostgreSQL server for the suites; create a database per file with `createTestDatabase`. */
    postgresUrl: string;
  }
}

/**
 * Starts a throw-away PostgreSQL cluster (initdb + pg_ctl on 127.0.0.1, a free port, trust auth, fsync off) for the
 * whole run and provides its URL as `postgresUrl`; `TEST_DATABASE_URL` points the suites at an existing server instead.
 */
export default async function setup(project: TestProject) {
  const existing = process.env.TEST_DATABASE_URL;
  if (existing) {
    project.provide("postgresUrl", existing);
    return;
  }
  const cluster = await startPostgresCluster();
  project.provide("postgresUrl", cluster.url);
  return () => cluster.destroy();
}
