import type { MetadataStore } from "../metadata/metadata-store.ts";
import { grantAnnouncements, type ProviderBudgetSettings, providerBudget } from "./provider-budget.ts";
import type { StageEvent } from "./stage-context.ts";
import { EVENT_NAMES } from "./video-generation-events.ts";

/** Where an ending was learned: the task watcher's check, or DashScope's completion push. */
export type TaskEndingSource = "watcher" | "push";

/** A provider task's ending, as one of the stage's signals learned it. */
export interface TaskEnding {
  generationId: string;
  taskId: string;
  /** The provider's status: SUCCEEDED, FAILED, CANCELED, UNKNOWN… (the run's own check decides what it means). */
  providerStatus: string;
  source: TaskEndingSource;
}

/**
 * The one place where a signalled ending changes the account's state, whoever learned it (the watcher or the push
 * route): records the ending on the generation (the first report wins), frees the task's budget slot and hands it to
 * the oldest waiter. Returns the events that wake the task's run and that waiter. Safe to repeat: a second call
 * records nothing and grants nothing that was not granted yet, so two watchers that overlap, or a push and a check
 * of the same ending, do nothing twice.
 */
export async function settleTaskEnding(
  ending: TaskEnding,
  dependencies: { metadataStore: MetadataStore; settings: ProviderBudgetSettings },
): Promise<{ recorded: boolean; grantedTo: string[]; events: StageEvent[] }> {
  const recorded = await dependencies.metadataStore.recordTaskEnd(ending);
  const { grantedTo } = await providerBudget(dependencies).release(ending.generationId);
  return {
    recorded,
    grantedTo,
    events: [taskEndedEvent(ending, 0), ...grantAnnouncements(grantedTo)],
  };
}

/**
 * `video/generation.task-ended` for a run; `signal` counts earlier announcements of the same ending. The first is
 * `task-ended-<task_id>`, the id the push route gives its event too, so that Inngest keeps one of a push and a check
 * reporting the same ending; a repeat for a run that missed it gets an id of its own.
 */
export function taskEndedEvent(
  ending: Pick<TaskEnding, "generationId" | "taskId" | "providerStatus" | "source">,
  signal: number,
): StageEvent & { id: string } {
  return {
    id: signal === 0 ? `task-ended-${ending.taskId}` : `task-ended-${ending.taskId}-${signal}`,
    name: EVENT_NAMES.taskEnded,
    data: {
      generation_id: ending.generationId,
      task_id: ending.taskId,
      task_status: ending.providerStatus,
      source: ending.source,
    },
  };
}
