import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { findFreePort } from "./free-port.ts";

const run = promisify(execFile);

/** Where Debian's postgresql packages put the server binaries, one directory per major version. */
const DEBIAN_POSTGRES_ROOT = "/usr/lib/postgresql";

/** A throw-away PostgreSQL cluster on 127.0.0.1 with trust auth, for tests only. */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  /** Stops the server (fast shutdown: open connections are terminated). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

/** The newest server binary directory found (`.../<major>/bin` holding initdb and pg_ctl). */
export function findPostgresBinaries(): string {
  const versions = existsSync(DEBIAN_POSTGRES_ROOT)
    ? readdirSync(DEBIAN_POSTGRES_ROOT)
        .filter((version) => /^\d+$/.test(version))
        .sort((left, right) => Number(right) - Number(left))
    : [];
  for (const version of versions) {
    const binaries = path.join(DEBIAN_POSTGRES_ROOT, version, "bin");
    if (existsSync(path.join(binaries, "initdb")) && existsSync(path.join(binaries, "pg_ctl")))
      return binaries;
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl) not found under ${DEBIAN_POSTGRES_ROOT}/*/bin. ` +
      "Install them with `apt-get install postgresql`, or set TEST_DATABASE_URL to a PostgreSQL server the tests may use.",
  );
}

/** Starts a new cluster: initdb into a temp dir, pg_ctl start on a free port. About a second. */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const binaries = findPostgresBinaries();
  // The server refuses to run as root; run its tools as the `postgres` user then.
  const asRoot = process.getuid?.() === 0;
  const tool = (name: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", path.join(binaries, name), ...args])
      : run(path.join(binaries, name), args);

  const baseDir = await mkdtemp(path.join(os.tmpdir(), "metadata-pg-"));
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: group } = await run("id", ["-g", "postgres"]);
    await chown(baseDir, Number(stdout.trim()), Number(group.trim()));
  }
  const dataDir = path.join(baseDir, "data");
  const port = await findFreePort();
  await tool("initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-locale",
    "--no-sync",
  ]);
  const serverOptions = [
    "-c listen_addresses=127.0.0.1",
    `-p ${port}`,
    `-c unix_socket_directories=${baseDir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    // Concurrency tests open many connections while other suites use the same cluster.
    "-c max_connections=300",
  ].join(" ");
  const start = async () => {
    await tool("pg_ctl", [
      "-D",
      dataDir,
      "-l",
      path.join(baseDir, "log"),
      "-w",
      "-t",
      "30",
      "start",
      "-o",
      serverOptions,
    ]);
  };
  const stop = async () => {
    await tool("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "30", "stop"]);
  };
  // A test run that ends without its teardown (interrupted, timed out) must not leave a server behind.
  const stopOnExit = () => {
    const command = asRoot ? "runuser" : path.join(binaries, "pg_ctl");
    const prefix = asRoot ? ["-u", "postgres", "--", path.join(binaries, "pg_ctl")] : [];
    try {
      execFileSync(command, [...prefix, "-D", dataDir, "-m", "immediate", "-w", "stop"], { stdio: "ignore" });
    } catch {}
    rmSync(baseDir, { recursive: true, force: true });
  };
  process.once("exit", stopOnExit);
  await start();
  let destroyed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      process.off("exit", stopOnExit);
      await stop().catch(() => {});
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the server at `adminUrl` (CREATE DATABASE test_<random>), so suites running in parallel never collide. */
export async function createTestDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `test_${randomBytes(6).toString("hex")}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
