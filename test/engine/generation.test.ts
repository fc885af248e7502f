import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { probeVideo, requireFfmpeg } from "../helpers/ffprobe-video.ts";
import { engineRequest, requested } from "./requests.ts";
import { useDevEngine } from "./use-dev-engine.ts";

const engine = useDevEngine();

describe("an event-triggered generation on the real Inngest dev server", () => {
  it("renders, stores a playable MP4, records it and emits completed with the correlation", async () => {
    const request = engineRequest({ correlation: { film: "f-1", shot: "3" } });
    const [eventId] = await engine.api.sendEvents([requested(request)]);
    const [run] = await engine.api.waitForEventRuns(eventId!);
    await engine.api.waitForRunStatus(run!.id, ["COMPLETED"]);

    const { output } = await engine.api.run(run!.id);
    expect(output).toMatchObject({
      generation_id: request.generation_id,
      cache_hit: false,
      duration: 2,
      fps: 30,
    });
    const response = output as { video_url: string; task_id: string; sha256: string; bytes: number };

    const [completed] = await engine.api.waitForEvents(
      "video/generation.completed",
      (event) => event.data.generation_id === request.generation_id,
    );
    expect(completed!.data).toMatchObject({
      generation_id: request.generation_id,
      correlation: { film: "f-1", shot: "3" },
      video_url: response.video_url,
      task_id: response.task_id,
    });

    const probed = await probeVideo(requireFfmpeg().ffprobe, fileURLToPath(response.video_url));
    expect(probed).toMatchObject({ codec: "h264", width: 1280, height: 720 });
    expect(probed.durationSeconds).toBeCloseTo(2, 1);

    const record = await engine.stage.metadataStore.get(String(request.generation_id));
    expect(record).toMatchObject({ status: "succeeded", taskId: response.task_id, runId: run!.id });
    expect(record?.result?.sha256).toBe(response.sha256);
    expect(engine.stage.sandbox.tasks().map((task) => task.taskId)).toEqual([response.task_id]);
    expect(await engine.stage.metadataStore.countSlots()).toBe(0);
  }, 120_000);
});
