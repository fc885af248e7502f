import type { ProviderTaskStatus } from "../providers/provider.ts";

/** A status check's JSON form: never the signed URL (a secret), only what the schedule and timings need. */
export type CheckedStatus = {
  status: ProviderTaskStatus["status"];
  providerStatus: string;
  checkedAt: string;
  scheduledAt?: string;
  endedAt?: string;
  code?: string;
  message?: string;
  /** The generation itself was canceled (its record says so); the provider was not asked. */
  generationCanceled?: boolean;
  /** Another generation is queued for a budget slot (the schedule then checks densely). */
  slotWanted?: boolean;
  /** Waiters a freed budget slot was handed to when this check saw the task end (they are woken next). */
  grantedTo?: string[];
  /** The run checked on its own and no task watcher held the lease: the run wakes one. */
  watcherWanted?: boolean;
};
