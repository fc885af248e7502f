import type { GenerationRecord } from "../metadata/generation-record.ts";
import type { RunnerStepEvent } from "../runner/in-process-runner.ts";

/** Shows how a generation is going: a live line on a terminal, plain log lines otherwise. */
export interface ProgressReporter {
  /** A step event from the in-process runner. */
  step(event: RunnerStepEvent): void;
  /** The record as last read from the metadata store (stage and provider status). */
  record(record: GenerationRecord | null): void;
  /** A free-form note (e.g. "interrupted: canceling"), shown as a log line. */
  note(message: string): void;
  /** Clears the live line; call before printing the summary. */
  stop(): void;
}

export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  /** The stream is a terminal: redraw one line instead of logging. */
  interactive: boolean;
  /** Expected submit-to-finish time (from the poll schedule's estimate), for "about N s left". */
  expectedRenderMs: number;
  now?: () => number;
}

/** Stages in pipeline order: the display only moves forward, whichever source (steps, record) is behind. */
const STAGE_ORDER = [
  "validate",
  "resolve-image",
  "cache-check",
  "claim",
  "waiting-for-duplicate",
  "waiting-for-slot",
  "submit",
  "rendering",
  "copy",
  "persist",
];

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function formatSeconds(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}

/**
 * Progress from two sources: the runner's step events (immediate, this process) and the metadata record (stage and
 * provider status as the handler writes them). The remaining time is the expected render time minus the time since
 * submit; the provider reports no percentage, so it is an estimate and says so.
 */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let stage = "validate";
  let providerStatus: string | null = null;
  let submittedAt: number | undefined;
  let retrying: string | undefined;
  let frame = 0;
  let lastLogged = "";
  let shown = false;

  const advance = (next: string) => {
    const rank = STAGE_ORDER.indexOf(next);
    if (rank > STAGE_ORDER.indexOf(stage)) stage = next;
  };

  const describe = () => {
    const parts = [stage];
    if (providerStatus) parts.push(`provider ${providerStatus}`);
    parts.push(`${formatSeconds(now() - startedAt)} elapsed`);
    if (submittedAt !== undefined && stage === "rendering") {
      const left = options.expectedRenderMs - (now() - submittedAt);
      parts.push(left > 0 ? `about ${formatSeconds(left)} left (estimate)` : "taking longer than estimated");
    }
    if (retrying) parts.push(`retrying: ${retrying}`);
    return parts.join(" · ");
  };

  const draw = () => {
    if (!options.interactive) return;
    frame = (frame + 1) % SPINNER.length;
    options.stream.write(`\r\x1b[2K${SPINNER[frame]} ${describe()}`);
    shown = true;
  };
  const log = (message: string) => {
    if (options.interactive) {
      options.stream.write(`\r\x1b[2K${message}\n`);
      draw();
    } else {
      options.stream.write(`video-gen: [${formatSeconds(now() - startedAt)}] ${message}\n`);
    }
  };
  const logState = () => {
    const state = providerStatus ? `${stage} (provider ${providerStatus})` : stage;
    if (state === lastLogged) return;
    lastLogged = state;
    if (options.interactive) draw();
    else log(state);
  };
  const ticker = options.interactive ? setInterval(draw, 250) : undefined;
  ticker?.unref();

  return {
    step(event) {
      if (event.kind === "step-started") {
        retrying = undefined;
        const name = event.id.replace(/-\d+$/, "");
        advance(name);
        logState();
      } else if (event.kind === "step-completed" && event.id === "submit") {
        submittedAt = now();
        advance("rendering");
        logState();
      } else if (event.kind === "step-retrying") {
        retrying = `${event.id} failed (${event.error}); again in ${formatSeconds(event.delayMs)}`;
        log(`step ${retrying}`);
      }
    },
    record(record) {
      if (!record) return;
      advance(record.stage);
      // The provider status is news only while a task is in flight (a cache hit's record carries the old one).
      providerStatus = ["rendering", "submit", "copy"].includes(record.stage) ? record.providerStatus : null;
      if (submittedAt === undefined && record.submittedAt) submittedAt = Date.parse(record.submittedAt);
      logState();
    },
    note(message) {
      log(message);
    },
    stop() {
      if (ticker) clearInterval(ticker);
      if (shown) options.stream.write("\r\x1b[2K");
    },
  };
}
