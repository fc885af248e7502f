import { guard } from "./database-error.ts";
import type { SlotRequest } from "./generation-record.ts";
import type { MetadataStore } from "./metadata-store.ts";
import type { SqlClient } from "./sql-client.ts";

/** The metadata store's part that keeps the account-wide provider budget: slots, their leases, the queue of waiters. */
export type BudgetSlots = Pick<
  MetadataStore,
  "acquireSlot" | "renewSlot" | "renewSlots" | "releaseSlot" | "countSlots" | "grantsToAnnounce"
>;

/** Advisory lock key that serialises budget changes across processes (an arbitrary constant owned by this module). */
const SLOT_LOCK_KEY = 7_240_002;

/**
 * The budget on PostgreSQL (or PGlite): `provider_slots` holds one row per slot taken or handed over, with its lease;
 * `provider_slot_waiters` the queue, oldest first. Every change runs under one advisory lock, so that the count of
 * slots and the order of the queue hold across processes.
 */
export function createBudgetSlots(sql: SqlClient): BudgetSlots {
  return {
    acquireSlot: (holder, { limit, leaseMs, staleWaiterMs }) =>
      guard("acquireSlot", () =>
        sql.transaction(async (tx): Promise<SlotRequest> => {
          await lockBudget(tx, staleWaiterMs);
          // A slot already held (or handed over to this holder) is renewed and taken.
          const renewed = await tx.query(
            `UPDATE provider_slots SET lease_expires_at = now() + $2::float8 * interval '1 millisecond', granted = false
             WHERE holder = $1 RETURNING holder`,
            [holder, leaseMs],
          );
          if (renewed.rows.length > 0) {
            await tx.query("DELETE FROM provider_slot_waiters WHERE holder = $1", [holder]);
            return { acquired: true };
          }
          // Free slots go to the oldest waiters first: a newcomer (or a later waiter) may take one only when more
          // slots are free than waiters are queued ahead of it.
          const { rows } = await tx.query<{ free: number; ahead: number; waiting: number }>(
            `SELECT $2::int - (SELECT count(*) FROM provider_slots)::int AS free,
               (SELECT count(*) FROM provider_slot_waiters w
                 WHERE NOT EXISTS (SELECT 1 FROM provider_slot_waiters WHERE holder = $1)
                    OR (w.enqueued_at, w.holder) <
                       (SELECT enqueued_at, holder FROM provider_slot_waiters WHERE holder = $1))::int AS ahead,
               (SELECT count(*) FROM provider_slot_waiters WHERE holder <> $1)::int AS waiting`,
            [holder, limit],
          );
          const { free, ahead, waiting } = rows[0] ?? { free: 0, ahead: 0, waiting: 0 };
          if (free > ahead) {
            await tx.query(
              `INSERT INTO provider_slots (holder, lease_expires_at)
               VALUES ($1, now() + $2::float8 * interval '1 millisecond')`,
              [holder, leaseMs],
            );
            await tx.query("DELETE FROM provider_slot_waiters WHERE holder = $1", [holder]);
            return { acquired: true };
          }
          await tx.query(
            `INSERT INTO provider_slot_waiters (holder) VALUES ($1)
             ON CONFLICT (holder) DO UPDATE SET seen_at = clock_timestamp()`,
            [holder],
          );
          return { acquired: false, position: ahead + 1, waiting: waiting + 1 };
        }),
      ),

    renewSlot: (holder, leaseMs) =>
      guard("renewSlot", async () => {
        // An expired lease is lost, not renewed: its slot may already count as free for others.
        await sql.query(
          `UPDATE provider_slots SET lease_expires_at = now() + $2::float8 * interval '1 millisecond'
           WHERE holder = $1 AND lease_expires_at > now()`,
          [holder, leaseMs],
        );
        const { rows } = await sql.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM provider_slot_waiters",
        );
        return { waiting: rows[0]?.waiting ?? 0 };
      }),

    renewSlots: (holders, leaseMs) =>
      guard("renewSlots", async () => {
        if (holders.length === 0) return;
        await sql.query(
          `UPDATE provider_slots SET lease_expires_at = now() + $2::float8 * interval '1 millisecond'
           WHERE holder IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND lease_expires_at > now()
             AND NOT granted`,
          [JSON.stringify(holders), leaseMs],
        );
      }),

    grantsToAnnounce: ({ unansweredMs, maxAnnouncements }) =>
      guard("grantsToAnnounce", async () => {
        const { rows } = await sql.query<{ holder: string; announcements: number }>(
          `UPDATE provider_slots SET announcements = announcements + 1, announced_at = now()
           WHERE granted AND lease_expires_at > now() AND announcements < $2::int
             AND (announced_at IS NULL OR announced_at <= now() - $1::float8 * interval '1 millisecond')
           RETURNING holder, announcements`,
          [unansweredMs, maxAnnouncements],
        );
        return rows.map((row) => ({ generationId: row.holder, announcement: row.announcements }));
      }),

    releaseSlot: (holder, handOver) =>
      guard("releaseSlot", () =>
        sql.transaction(async (tx) => {
          await lockBudget(tx, handOver?.staleWaiterMs);
          await tx.query("DELETE FROM provider_slots WHERE holder = $1", [holder]);
          await tx.query("DELETE FROM provider_slot_waiters WHERE holder = $1", [holder]);
          if (!handOver) return { grantedTo: [] };
          const granted = await tx.query<{ holder: string }>(
            `INSERT INTO provider_slots (holder, lease_expires_at, granted, announcements, announced_at)
             SELECT holder, now() + $2::float8 * interval '1 millisecond', true, 1, now() FROM provider_slot_waiters
             ORDER BY enqueued_at, holder
             LIMIT greatest(0, $1::int - (SELECT count(*) FROM provider_slots)::int)
             ON CONFLICT (holder) DO NOTHING
             RETURNING holder`,
            [handOver.limit, handOver.grantLeaseMs],
          );
          const grantedTo = granted.rows.map((row) => row.holder);
          if (grantedTo.length > 0) {
            await tx.query(
              "DELETE FROM provider_slot_waiters WHERE holder IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
              [JSON.stringify(grantedTo)],
            );
          }
          return { grantedTo };
        }),
      ),

    countSlots: () =>
      guard("countSlots", async () => {
        const { rows } = await sql.query<{ count: number }>(
          "SELECT count(*)::int AS count FROM provider_slots WHERE lease_expires_at > now()",
        );
        return rows[0]?.count ?? 0;
      }),
  };
}

/**
 * Serialises budget changes across processes for the rest of the transaction, then drops expired leases and, when
 * a horizon is given, waiters that stopped asking (runs that died while queued).
 */
async function lockBudget(tx: SqlClient, staleWaiterMs: number | undefined): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1)", [SLOT_LOCK_KEY]);
  await tx.query("DELETE FROM provider_slots WHERE lease_expires_at <= now()");
  if (staleWaiterMs !== undefined) {
    await tx.query(
      "DELETE FROM provider_slot_waiters WHERE seen_at <= now() - $1::float8 * interval '1 millisecond'",
      [staleWaiterMs],
    );
  }
}
