import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { predictOutputSize, type WanFrameRule } from "../contract/wan-model.ts";
import type { SandboxImage } from "./sandbox-images.ts";
import type { SandboxRenderer } from "./sandbox-render.ts";
import type { ValidatedSubmit } from "./sandbox-submit.ts";

/** Statuses a sandbox task can be in (`UNKNOWN` is what an unknown or expired id reports, not a stored state). */
export type SandboxTaskStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";

/** A validated submit as the task store keeps it: the image resolved, plus what the server saw of the request. */
export interface SandboxTaskRequest extends Omit<ValidatedSubmit, "imgUrl" | "parameterError"> {
  /** `request_id` of the submit that created the task. */
  requestId: string;
  image: SandboxImage;
  /** Submit headers the sandbox recorded (`x-dashscope-ossresourceresolve`, `content-type`, ...). */
  sentHeaders: Record<string, string>;
  /** A parameter error accepted at submit (`parameterErrors: "fail-task"`): the task ends FAILED with it. */
  failure?: { code: string; message: string };
}

/** One task as `SandboxHandle.tasks()` reports it. Times are epoch milliseconds of the sandbox clock. */
export interface SandboxTaskSummary extends Omit<SandboxTaskRequest, "image"> {
  taskId: string;
  status: SandboxTaskStatus;
  submitTime: number;
  scheduledTime?: number;
  endTime?: number;
  image: Omit<SandboxImage, "bytes">;
  /** Frame size of the clip, from the tier and the image's aspect ratio. */
  output: { width: number; height: number };
  /** Code and message of a FAILED task. */
  failure?: { code: string; message: string };
}

/** A task as the store keeps it. */
export interface SandboxTask extends SandboxTaskSummary {
  /** Path of the rendered MP4, set when SUCCEEDED. */
  videoPath?: string;
}

export interface TaskStoreOptions {
  /** Wall clock for task times and expiry, epoch milliseconds. */
  now: () => number;
  /** Time PENDING, in milliseconds. */
  pendingMs: number;
  /** Time RUNNING at least (a task also waits for its render), in milliseconds. */
  renderMs: number | ((task: SandboxTaskSummary) => number);
  /** How long a task's record is kept after it ends (SUCCEEDED, FAILED, CANCELED), in milliseconds. */
  taskRetentionMs: number;
  /** Age from creation after which a task reports UNKNOWN whatever its state (a fault); undefined: never. */
  taskTtlMs: number | undefined;
  /** How the frame size follows from the tier and the image. */
  frameRule: WanFrameRule;
  /** Tasks PENDING or RUNNING at once. */
  concurrencyLimit: number;
  /** Where inputs and renders are written. */
  workDir: string;
  renderer: SandboxRenderer;
  /** A queued forced failure for a new task, if any (fault injection). */
  takeTaskFailure: () => { code: string; message: string } | undefined;
}

export interface TaskStore {
  /** Creates a PENDING task, or returns undefined when `concurrencyLimit` tasks are already in flight. */
  tryCreate(request: SandboxTaskRequest): SandboxTask | undefined;
  /** A task by id; undefined when unknown or no longer kept. */
  get(taskId: string): SandboxTask | undefined;
  /** Cancels a PENDING task; false when the task is unknown, no longer kept or past PENDING. */
  cancel(taskId: string): boolean;
  /** Tasks still kept, newest first. */
  list(): SandboxTask[];
  /** Tasks PENDING or RUNNING now. */
  inFlight(): number;
  /** The highest `inFlight()` seen. */
  peakInFlight(): number;
  /** Stops timers and running renders. */
  close(): void;
}

const IN_FLIGHT: ReadonlySet<SandboxTaskStatus> = new Set(["PENDING", "RUNNING"]);

const RENDER_FAILURE = {
  code: "InternalError.Algo",
  message: "An internal error has occured during algorithm execution.",
};

export function createTaskStore(options: TaskStoreOptions): TaskStore {
  const tasks = new Map<string, SandboxTask>();
  const timers = new Set<NodeJS.Timeout>();
  const closing = new AbortController();
  let peak = 0;

  // Records are kept for a while after the task ends ("完成后通常保留 24 小时", dashscope.md 5); a task still in
  // flight is kept (the service's own 3 h limit is not emulated), unless the taskTtlMs fault says otherwise.
  const isExpired = (task: SandboxTask) => {
    const now = options.now();
    if (options.taskTtlMs !== undefined && now - task.submitTime >= options.taskTtlMs) return true;
    return task.endTime !== undefined && now - task.endTime >= options.taskRetentionMs;
  };
  const inFlight = () =>
    [...tasks.values()].filter((task) => IN_FLIGHT.has(task.status) && !isExpired(task)).length;

  const after = (milliseconds: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closing.signal.aborted) action();
    }, milliseconds);
    timers.add(timer);
  };
  const sleep = (milliseconds: number) => new Promise<void>((resolve) => after(milliseconds, resolve));

  const finish = (task: SandboxTask, outcome: { videoPath: string } | { code: string; message: string }) => {
    if (closing.signal.aborted || task.status !== "RUNNING") return;
    task.endTime = options.now();
    if ("videoPath" in outcome) {
      task.status = "SUCCEEDED";
      task.videoPath = outcome.videoPath;
    } else {
      task.status = "FAILED";
      task.failure = { code: outcome.code, message: outcome.message };
    }
  };

  const run = async (
    task: SandboxTask,
    inputWritten: Promise<string>,
    forcedFailure?: { code: string; message: string },
  ) => {
    if (task.status !== "PENDING") return;
    task.status = "RUNNING";
    task.scheduledTime = options.now();
    const renderMs =
      typeof options.renderMs === "function" ? options.renderMs(summarize(task)) : options.renderMs;
    const window = sleep(Math.max(0, renderMs));
    if (forcedFailure) {
      await window;
      finish(task, forcedFailure);
      return;
    }
    const rendered = inputWritten.then(async (inputPath) => {
      const outputPath = path.join(path.dirname(inputPath), "video.mp4");
      await options.renderer.render(
        {
          inputPath,
          outputPath,
          width: task.output.width,
          height: task.output.height,
          durationSeconds: task.duration,
          audio: task.audio,
          seed: task.seed,
        },
        closing.signal,
      );
      return { videoPath: outputPath };
    });
    // SUCCEEDED only once both the configured running time has passed and the file exists.
    const [outcome] = await Promise.all([rendered.catch(() => RENDER_FAILURE), window]);
    finish(task, outcome);
  };

  return {
    tryCreate(request) {
      if (inFlight() >= options.concurrencyLimit) return undefined;
      const taskId = randomUUID();
      const { bytes, ...image } = request.image;
      const { failure: requestFailure, ...taskRequest } = request;
      const task: SandboxTask = {
        ...taskRequest,
        image,
        taskId,
        status: "PENDING",
        submitTime: options.now(),
        output: predictOutputSize(request.resolution, image.width, image.height, options.frameRule),
      };
      tasks.set(taskId, task);
      peak = Math.max(peak, inFlight());
      const directory = path.join(options.workDir, "tasks", taskId);
      const inputPath = path.join(directory, `input.${image.format}`);
      const inputWritten = mkdir(directory, { recursive: true })
        .then(() => writeFile(inputPath, bytes))
        .then(() => inputPath);
      inputWritten.catch(() => {}); // observed again by the render, which turns it into a FAILED task
      const forcedFailure = requestFailure ?? options.takeTaskFailure();
      after(options.pendingMs, () => void run(task, inputWritten, forcedFailure));
      return task;
    },
    get(taskId) {
      const task = tasks.get(taskId);
      return task && !isExpired(task) ? task : undefined;
    },
    cancel(taskId) {
      const task = tasks.get(taskId);
      if (!task || isExpired(task) || task.status !== "PENDING") return false;
      task.status = "CANCELED";
      task.endTime = options.now();
      return true;
    },
    list() {
      return [...tasks.values()]
        .filter((task) => !isExpired(task))
        .sort((a, b) => b.submitTime - a.submitTime);
    },
    inFlight,
    peakInFlight: () => peak,
    close() {
      closing.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** A copy of a task without internal paths, for `SandboxHandle.tasks()`. */
export function summarize(task: SandboxTask): SandboxTaskSummary {
  const { videoPath: _videoPath, ...summary } = task;
  return structuredClone(summary);
}
