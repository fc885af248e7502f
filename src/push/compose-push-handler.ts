import type { Inngest } from "inngest";
import type { GenerationQueries } from "../metadata/generation-queries.ts";
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
    send: (event) => options.client.send(event),
  });
}

function trustedOrigin(options: ComposeDashscopePushOptions): RegExp {
  const extra = options.testCertificateOrigin;
  if (!extra) return OFFICIAL_CERTIFICATE_ORIGIN;
  const exact = extra.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${OFFICIAL_CERTIFICATE_ORIGIN.source}|^${exact}$`);
}
