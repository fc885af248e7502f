import { afterEach, describe, expect, it } from "vitest";
import { type SandboxHandle, type SandboxListReading, startSandbox } from "../../src/sandbox/index.ts";
import {
  call,
  dataUri,
  type JsonBody,
  makeImage,
  submitBody,
  submitHeaders,
  submitPath,
} from "./sandbox-test-helpers.ts";

/**
 * The sandbox can serve each plausible reading of what DashScope leaves undocumented about its task list
 * (dashscope.md 3.8): the zone of the time filters, a page cap (capped or refused), the row order, a listing delay.
 * Each test shows that the reading really changes what a client sees, so the reconciliation suite that runs against
 * every reading tests something.
 */
describe("sandbox list readings", () => {
  const MINUTE = 60_000;
  let sandbox: SandboxHandle | undefined;
  let clock = Date.now();

  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  async function start(list: SandboxListReading): Promise<SandboxHandle> {
    clock = Date.now();
    sandbox = await startSandbox({
      // Tasks stay PENDING: listing is all these tests need, and no ffmpeg runs.
      timings: { pendingMs: 600_000, renderMs: 0 },
      concurrencyLimit: 1000,
      submitsPerSecond: 1000,
      taskQueriesPerSecond: 1000,
      now: () => clock,
      list,
    });
    return sandbox;
  }

  /** Creates a task as another client would, at `at` on the sandbox clock; returns its id. */
  async function taskAt(target: SandboxHandle, at: number): Promise<string> {
    const saved = clock;
    clock = at;
    try {
      const response = await call(`${target.baseUrl}${submitPath}`, {
        method: "POST",
        headers: submitHeaders(target.apiKey),
        body: submitBody(dataUri(await makeImage(240, 240))),
      });
      expect(response.status).toBe(200);
      return response.json().output.task_id;
    } finally {
      clock = saved;
    }
  }

  const list = async (target: SandboxHandle, query: string) =>
    call(`${target.baseUrl}/tasks/?${query}`, { headers: { authorization: `Bearer ${target.apiKey}` } });

  /** `YYYYMMDDhhmmss` of an instant in a zone `offsetMinutes` east of UTC. */
  const compact = (epochMs: number, offsetMinutes: number) =>
    new Date(epochMs + offsetMinutes * MINUTE).toISOString().replace(/[-:T]/g, "").slice(0, 14);

  it.each([
    { zone: "UTC+8", offsetMinutes: 480 },
    { zone: "UTC", offsetMinutes: 0 },
  ])("reads start_time/end_time in $zone", async ({ offsetMinutes }) => {
    const target = await start({ timeFilterUtcOffsetMinutes: offsetMinutes });
    const taskId = await taskAt(target, clock - 5 * MINUTE);
    const window = (zoneMinutes: number) =>
      `start_time=${compact(clock - 10 * MINUTE, zoneMinutes)}&end_time=${compact(clock, zoneMinutes)}`;
    const ids = async (zoneMinutes: number) =>
      ((await list(target, window(zoneMinutes))).json() as JsonBody).data.map(
        (row: { task_id: string }) => row.task_id,
      );
    // A window written in the server's zone finds the task; the same window written in the other zone misses it.
    expect(await ids(offsetMinutes)).toEqual([taskId]);
    expect(await ids(offsetMinutes === 480 ? 0 : 480)).toEqual([]);
    // Without time filters the list covers the last 24 h, whatever the zone.
    expect((await list(target, "")).json().data.map((row: { task_id: string }) => row.task_id)).toEqual([
      taskId,
    ]);
  });

  it("caps page_size at its maximum and pages by the size it served", async () => {
    const target = await start({ maxPageSize: 10, overMaxPageSize: "cap" });
    for (let index = 0; index < 23; index += 1) await taskAt(target, clock - index * MINUTE);
    const first = (await list(target, "page_size=100")).json();
    expect(first).toMatchObject({ total: 23, total_page: 3, page_no: 1, page_size: 10 });
    expect(first.data).toHaveLength(10);
    const last = (await list(target, "page_size=100&page_no=3")).json();
    expect(last.data).toHaveLength(3);
    expect((await list(target, "page_size=5")).json()).toMatchObject({ page_size: 5, total_page: 5 });
  });

  it("refuses page_size over its maximum, and pages 10 rows by default", async () => {
    const target = await start({ maxPageSize: 10, overMaxPageSize: "refuse" });
    for (let index = 0; index < 12; index += 1) await taskAt(target, clock - index * MINUTE);
    const refused = await list(target, "page_size=100");
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({
      code: "InvalidParameter",
      message: expect.stringContaining("page_size"),
    });
    expect((await list(target, "")).json()).toMatchObject({ total: 12, total_page: 2, page_size: 10 });
  });

  it.each(["newest-first", "oldest-first"] as const)("orders rows %s", async (order) => {
    const target = await start({ order });
    const older = await taskAt(target, clock - 30 * MINUTE);
    const newer = await taskAt(target, clock - MINUTE);
    const rows = (await list(target, "")).json().data as Array<{ task_id: string; gmt_create: number }>;
    expect(rows.map((row) => row.task_id)).toEqual(
      order === "newest-first" ? [newer, older] : [older, newer],
    );
  });

  it("lists a task only once the listing delay has passed, while its status is known at once", async () => {
    const target = await start({ listingDelayMs: 5_000 });
    const taskId = await taskAt(target, clock);
    const status = await call(`${target.baseUrl}/tasks/${taskId}`, {
      headers: { authorization: `Bearer ${target.apiKey}` },
    });
    expect(status.json().output.task_status).toBe("PENDING");
    expect((await list(target, "")).json()).toMatchObject({ total: 0, data: [] });
    clock += 4_999;
    expect((await list(target, `task_id=${taskId}`)).json().total).toBe(0);
    clock += 1;
    expect((await list(target, "")).json().data.map((row: { task_id: string }) => row.task_id)).toEqual([
      taskId,
    ]);
  });
});
