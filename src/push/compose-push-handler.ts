import type { Inngest } from "inngest";
import type { ProviderBudgetSettings } from "../functions/provider-budget.ts";
import { settleTaskEnding } from "../functions/settle-task-ending.ts";
import type { GenerationQueries } from "../metadata/generation-queries.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { createDashscopePushHandler } from "./dashscope-push-handler.ts";
import { createCertificateSource, OFFICIAL_CERTIFICATE_ORIGIN } from "./eventbridge-certificates.ts";
import { createEventBridgeVerifier } from "./eventbridge-verifier.ts";

const ENDED = new Set(["succeeded", "failed", "canceled"]);

/** Options of {@link composeDashscopePush}. */
export interface ComposeDashscopePushOptions {
  /** DASHSCOPE_PUSH_SECRET. */
  secret: string;
  /** A loopback origin trusted besides the official hosts (the sandbox's emulator); config checked it is loopback. */
  testCertificateOrigin?: string;
  /** The records, to find the generation of a task. */
  queries: Pick<GenerationQueries, "generationIdOfTask">;
  /** Sends the `task-ended` event. */
  client: Inngest.Any;
  /** The budget and records the ending settles (`settleTaskEnding`: record, free the slot, hand it over). */
  dependencies: { metadataStore: MetadataStore; settings: ProviderBudgetSettings };
}

/** The push route of `video-gen serve`: the official certificate hosts, the records, and the app's Inngest client. */
export function composeDashscopePush(
  options: ComposeDashscopePushOptions,
): (request: Request) => Promise<Response> {
  return createDashscopePushHandler({
    secret: options.secret,
    verifier: createEventBridgeVerifier({
      certificates: createCertificateSource({ trustedOrigin: trustedOrigin(options) }),
    }),
    findGenerationByTaskId: async (taskId) => {
      const found = await options.queries.generationIdOfTask(taskId);
      return found ? { generationId: found.generationId, ended: ENDED.has(found.status) } : null;
    },
    // The push settles the ending as the watcher's check would (one place): recorded, slot freed and handed over;
    // then the run and the waiter are woken together, and the watcher will not announce the ending again.
    send: async (event) => {
      const { generation_id: generationId, task_id: taskId, task_status: providerStatus } = event.data;
      const settled = await settleTaskEnding(
        { generationId, taskId, providerStatus, source: "push" },
        options.dependencies,
      );
      await options.client.send([event, ...settled.events.slice(1)]);
      await options.dependencies.metadataStore.markTaskEndsSignalled([generationId]);
    },
  });
}

function trustedOrigin(options: ComposeDashscopePushOptions): RegExp {
  const extra = options.testCertificateOrigin;
  if (!extra) return OFFICIAL_CERTIFICATE_ORIGIN;
  const exact = extra.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${OFFICIAL_CERTIFICATE_ORIGIN.source}|^${exact}$`);
}
