import type { SlotHandOver, SlotRequest } from "../metadata/generation-record.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { StageEvent, StageStepTools } from "./stage-context.ts";
import type { StageSettings } from "./video-generate-dependencies.ts";
import { slotGrantedEvents } from "./video-generation-events.ts";
import { slotWaitTimings } from "./wait-schedule.ts";

/** The settings the budget is run by: its size, the lease of a slot, and the queue's timings derived from them. */
export type ProviderBudgetSettings = Pick<
  StageSettings,
  "budget" | "slotLeaseMs" | "queueTimeoutMs" | "maxSlotChecks"
>;

/** What releasing a slot did. */
export interface SlotRelease {
  /**
   * The waiting generations that were granted a slot freed by this release, oldest first (empty when nobody
   * waited). Their runs sleep until they are told: announce them ({@link announceGrants} in a run,
   * {@link grantAnnouncements} elsewhere), or they wake only at their fallback check.
   */
  grantedTo: string[];
}

/**
 * The account-wide budget of provider tasks in flight (`VIDEO_GEN_BUDGET`), held in the metadata store so that it
 * counts runs that sleep and runs in other processes. The only way the stage acquires, renews and releases slots:
 * every release hands the freed slots to the oldest waiters, so none is left free while a generation is queued.
 * Each operation is one short transaction, safe to repeat (a step retry calls it again).
 */
export interface ProviderBudget {
  /**
   * Takes a slot for this generation (`slot-N`): granted when it already holds one (a slot handed over to it is
   * taken here) or when one is free and no older waiter is owed it; otherwise the generation keeps (or takes) its
   * place in the queue and learns it. Expired leases and waiters that stopped asking are dropped first.
   */
  acquire(generationId: string): Promise<SlotRequest>;
  /**
   * Extends the generation's lease (`submit`, every `poll-N` of a task still going); a lease that already ran out is
   * not renewed. Tells how many generations are queued, so that the poll schedule checks densely while they wait.
   */
  renew(generationId: string): Promise<{ waiting: number }>;
  /**
   * Frees the generation's slot (and its place in the queue) and hands every free slot to the oldest waiters, each
   * leased until the waiter's next fallback check. A no-op, returning no grants, for a generation that holds
   * nothing while no slot is free; it may grant slots freed elsewhere (a lease that ran out) when one is.
   */
  release(generationId: string): Promise<SlotRelease>;
}

/** The budget of this deployment, on its metadata store and settings. */
export function providerBudget(input: {
  metadataStore: MetadataStore;
  settings: ProviderBudgetSettings;
}): ProviderBudget {
  const { metadataStore, settings } = input;
  return {
    acquire: (generationId) =>
      metadataStore.acquireSlot(generationId, {
        limit: settings.budget,
        leaseMs: settings.slotLeaseMs,
        staleWaiterMs: slotWaitTimings(settings).staleWaiterMs,
      }),
    renew: (generationId) => metadataStore.renewSlot(generationId, settings.slotLeaseMs),
    release: (generationId) => metadataStore.releaseSlot(generationId, slotHandOver(settings)),
  };
}

/** How freed slots are handed to the oldest waiters in this deployment. */
function slotHandOver(
  settings: Pick<StageSettings, "budget" | "queueTimeoutMs" | "maxSlotChecks">,
): SlotHandOver {
  const { grantLeaseMs, staleWaiterMs } = slotWaitTimings(settings);
  return { limit: settings.budget, grantLeaseMs, staleWaiterMs };
}

/**
 * The events that wake the generations a release granted slots to: one `video/generation.slot-granted` each, which
 * ends the waiter's `slot-wait-N` so that its next `slot-N` takes the slot. For senders outside a run's steps (the
 * clean-up's announcements, the in-process bus, a cancel from the CLI or the gallery).
 */
export function grantAnnouncements(grantedTo: readonly string[]): StageEvent[] {
  return slotGrantedEvents(grantedTo);
}

/**
 * The step ids that announce grants inside `video-generate`, each taken at most once per run: `slot-handover` after
 * the `poll-N` that saw the task end (or the `deadline` step), `persist-handover` after `persist`. Memoization keys
 * of runs in flight: never renamed.
 */
export type GrantAnnouncementStep = "slot-handover" | "persist-handover";

/**
 * Announces a release's grants as the durable event step `stepId` (see {@link grantAnnouncements}). Takes no step
 * when nothing was granted, so a run's step count grows only when a waiter is woken.
 */
export async function announceGrants(
  step: Pick<StageStepTools, "sendEvent">,
  stepId: GrantAnnouncementStep,
  grantedTo: readonly string[] | undefined,
): Promise<void> {
  if (!grantedTo?.length) return;
  await step.sendEvent(stepId, grantAnnouncements(grantedTo));
}
