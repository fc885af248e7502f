import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeInngestUnreachable } from "../../src/net/inngest-unreachable.ts";
import { findFreePort } from "../helpers/free-port.ts";
import { SAMPLE_IMAGE_PATH } from "../helpers/stage-harness.ts";
import { type CliFixture, startCliFixture } from "./cli-fixture.ts";
import { runCli } from "./cli-process.ts";

const EVENT_KEY = "event-key-never-printed-0123456789";

let fixture: CliFixture;
beforeAll(async () => {
  fixture = await startCliFixture();
});
afterAll(async () => {
  await fixture?.close();
});

/** An Inngest client configured as the CLI configures it: from exactly this environment. */
function clientFor(environment: Record<string, string>): Inngest {
  return new Inngest({ id: "video-agent" }).setEnvVars(environment);
}

/** What `client.send` throws against this configuration (it must throw). */
async function sendError(client: Inngest): Promise<unknown> {
  try {
    await client.send({ name: "video/test.sent", data: {} });
  } catch (error) {
    return error;
  }
  throw new Error("send succeeded: the test expected it to fail");
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe("video-gen send without a reachable Inngest server", () => {
  it("names the URL it tried and INNGEST_BASE_URL, which set it, and exits 3", async () => {
    const url = `http://127.0.0.1:${await findFreePort()}/`;
    const result = await runCli(
      ["send", "--image", SAMPLE_IMAGE_PATH, "--prompt", "nobody listens"],
      fixture.environment({ INNGEST_DEV: "1", INNGEST_BASE_URL: url }),
    );
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`could not reach the Inngest event API at ${url}`);
    expect(result.stderr).toContain("connection refused");
    expect(result.stderr).toContain("set by INNGEST_BASE_URL");
    expect(result.stderr).toContain("[inngest_unreachable]");
    expect(result.stderr).not.toContain("unexpected error");
    expect(result.stdout).toBe("");
  });

  it("names INNGEST_DEV when it holds the URL, and never prints the event key", async () => {
    const url = `http://127.0.0.1:${await findFreePort()}/`;
    const result = await runCli(
      ["send", "--image", SAMPLE_IMAGE_PATH, "--prompt", "nobody listens"],
      fixture.environment({ INNGEST_DEV: url, INNGEST_EVENT_KEY: EVENT_KEY }),
    );
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`at ${url} (connection refused`);
    expect(result.stderr).toContain("set by INNGEST_DEV");
    expect(result.stderr).not.toContain(EVENT_KEY);
  });
});

describe("video-gen cancel without a reachable Inngest server", () => {
  it("cancels here, then says the cancel event could not reach the URL, and exits 3", async () => {
    const generated = await runCli(
      [
        "generate",
        "--image",
        SAMPLE_IMAGE_PATH,
        "--prompt",
        "cancel, unreachable",
        "--duration",
        "2",
        "--generation-id",
        "cancel-unreachable",
        "--json",
      ],
      fixture.environment(),
    );
    expect(generated.code, generated.stderr).toBe(0);

    const url = `http://127.0.0.1:${await findFreePort()}/`;
    const result = await runCli(
      ["cancel", "cancel-unreachable"],
      fixture.environment({ INNGEST_DEV: "1", INNGEST_EVENT_API_BASE_URL: url }),
    );
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toContain("already ended (succeeded)");
    expect(result.stderr).toContain("video/generation.cancel-requested was not sent");
    expect(result.stderr).toContain(`at ${url} (connection refused`);
    expect(result.stderr).toContain("set by INNGEST_EVENT_API_BASE_URL");
    expect(result.stderr).toContain("[inngest_unreachable]");
  });
});

describe("describeInngestUnreachable", () => {
  it("classifies a refused connection and names the variable from the client alone", async () => {
    const url = `http://127.0.0.1:${await findFreePort()}/`;
    const client = clientFor({ INNGEST_DEV: url });
    const described = describeInngestUnreachable(await sendError(client), client);
    expect(described).toMatchObject({ url, reason: "refused", variables: ["INNGEST_DEV"] });
    expect(described?.message).toContain(url);
  });

  it("without the environment, names both override variables when one of them set the URL", async () => {
    const url = `http://127.0.0.1:${await findFreePort()}/`;
    const environment = { INNGEST_DEV: "1", INNGEST_EVENT_API_BASE_URL: url };
    const client = clientFor(environment);
    const error = await sendError(client);
    expect(describeInngestUnreachable(error, client)?.variables).toEqual([
      "INNGEST_EVENT_API_BASE_URL",
      "INNGEST_BASE_URL",
    ]);
    expect(describeInngestUnreachable(error, client, environment)?.variables).toEqual([
      "INNGEST_EVENT_API_BASE_URL",
    ]);
  });

  it("classifies a host name that does not resolve", async () => {
    const environment = { INNGEST_DEV: "1", INNGEST_BASE_URL: "http://inngest.invalid:8288" };
    const client = clientFor(environment);
    const described = describeInngestUnreachable(await sendError(client), client, environment);
    expect(described).toMatchObject({
      url: "http://inngest.invalid:8288/",
      reason: "dns",
      variables: ["INNGEST_BASE_URL"],
    });
  });

  it("classifies a connection closed before an answer", async () => {
    const server = createServer((request) => request.socket.destroy());
    const url = await listen(server);
    try {
      const environment = { INNGEST_DEV: "1", INNGEST_BASE_URL: url };
      const client = clientFor(environment);
      const described = describeInngestUnreachable(await sendError(client), client, environment);
      expect(described).toMatchObject({ url, reason: "reset", variables: ["INNGEST_BASE_URL"] });
    } finally {
      server.close();
    }
  });

  it("classifies a timeout", async () => {
    const server = createServer(() => {
      // Never answers.
    });
    const url = await listen(server);
    try {
      const environment = { INNGEST_DEV: url };
      const timing = (input: string | URL | Request, init?: RequestInit) =>
        fetch(input, { ...init, signal: AbortSignal.timeout(300) });
      const client = new Inngest({ id: "video-agent", fetch: timing }).setEnvVars(environment);
      const described = describeInngestUnreachable(await sendError(client), client, environment);
      expect(described).toMatchObject({ url, reason: "timeout", variables: ["INNGEST_DEV"] });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("says when the URL is the dev server's default (INNGEST_DEV=1) or Inngest Cloud's, never with credentials", () => {
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8288"), { code: "ECONNREFUSED" }),
    });
    const dev = clientFor({ INNGEST_DEV: "1" });
    expect(describeInngestUnreachable(refused, dev, { INNGEST_DEV: "1" })).toMatchObject({
      url: "http://localhost:8288/",
      variables: ["INNGEST_DEV"],
      message: expect.stringContaining("the local dev server's default address (dev mode, INNGEST_DEV=1)"),
    });
    const withCredentials = {
      INNGEST_DEV: "1",
      INNGEST_BASE_URL: "http://user:hunter2-secret@inngest.local:8288/",
    };
    const credentialed = describeInngestUnreachable(refused, clientFor(withCredentials), withCredentials);
    expect(credentialed).toMatchObject({
      url: "http://inngest.local:8288/",
      variables: ["INNGEST_BASE_URL"],
    });
    expect(credentialed?.message).not.toContain("hunter2-secret");
    const cloud = clientFor({ INNGEST_EVENT_KEY: EVENT_KEY });
    const described = describeInngestUnreachable(refused, cloud, { INNGEST_EVENT_KEY: EVENT_KEY });
    expect(described).toMatchObject({ url: "https://inn.gs/", variables: [] });
    expect(described?.message).toContain("INNGEST_DEV=1");
  });

  it("is null when the server answered (401: a wrong event key is not a reachability problem)", async () => {
    const server = createServer((_request, response) => {
      response.writeHead(401, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "Event key not found", status: 401 }));
    });
    const url = await listen(server);
    try {
      const environment = { INNGEST_EVENT_KEY: EVENT_KEY, INNGEST_BASE_URL: url };
      const client = clientFor(environment);
      expect(describeInngestUnreachable(await sendError(client), client, environment)).toBeNull();
    } finally {
      server.close();
    }
  });
});
