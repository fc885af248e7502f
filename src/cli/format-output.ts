import { fileURLToPath } from "node:url";
import type { VideoGenerateResponse } from "../contract/video-generate-response.ts";
import type { GenerationRecord, Totals } from "../metadata/generation-record.ts";
import { formatSeconds } from "./progress-line.ts";

/** Where a stored video is, as a person opens it: the file path for file:// URLs, the URL otherwise. */
export function videoLocation(videoUrl: string): string {
  return videoUrl.startsWith("file://") ? fileURLToPath(videoUrl) : videoUrl;
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const seconds = (milliseconds: number | null) =>
  milliseconds === null ? "-" : `${(milliseconds / 1000).toFixed(1)} s`;

/** The human summary of a finished generation (stdout of `generate`, `replay`, `demo`). */
export function formatResponse(response: VideoGenerateResponse): string {
  const lines = [
    `Video:       ${videoLocation(response.video_url)}`,
    `Measured:    ${response.duration.toFixed(2)} s, ${Number(response.fps.toFixed(3))} fps, ${response.width}x${response.height}, ${megabytes(response.bytes)}, ${response.has_audio ? "with audio" : "no audio"}`,
    `Seed:        ${response.seed}`,
    `Cost:        ${response.cost_estimate.amount} ${response.cost_estimate.currency} (estimate${response.cache_hit ? "; cache hit, nothing billed" : ""})`,
    `Cache hit:   ${response.cache_hit ? "yes (no provider call)" : "no"}`,
    `Generation:  ${response.generation_id} (task ${response.task_id}, model ${response.model})`,
  ];
  const { timings } = response;
  if (!response.cache_hit) {
    lines.push(
      `Timings:     queued ${seconds(timings.queued_ms)}, render ${seconds(timings.render_ms)}, copy ${seconds(timings.copy_ms)}, total ${seconds(timings.total_ms)}`,
    );
  }
  if (response.warnings.length === 0) {
    lines.push("Warnings:    none");
  } else {
    lines.push("Warnings:");
    for (const warning of response.warnings) {
      lines.push(
        `  - ${warning.field}: requested ${String(warning.requested)}, got ${String(warning.applied)}: ${warning.reason}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** `show`: one record, readable; with the response summary unless `withResult` is false. */
export function formatRecord(record: GenerationRecord, options: { withResult?: boolean } = {}): string {
  const lines = [
    `Generation:  ${record.generationId}`,
    `Status:      ${record.status} (stage ${record.stage}${record.providerStatus ? `, provider ${record.providerStatus}` : ""})`,
    `Created:     ${record.createdAt}${record.completedAt ? `, completed ${record.completedAt}` : ""}`,
    `Model:       ${record.model} (${record.provider})${record.taskId ? `, task ${record.taskId}` : ""}`,
    `Cache:       mode ${record.cacheMode}${record.cacheKey ? `, key ${record.cacheKey.slice(0, 16)}…` : ""}${record.attachedTo ? `, attached to ${record.attachedTo}` : ""}`,
    `Request:     ${JSON.stringify(record.request)}`,
  ];
  if (record.correlation) lines.push(`Correlation: ${JSON.stringify(record.correlation)}`);
  if (record.errorCode) lines.push(`Error:       ${record.errorCode}: ${record.errorMessage ?? ""}`);
  if (record.result && options.withResult !== false) lines.push("", formatResponse(record.result).trimEnd());
  return `${lines.join("\n")}\n`;
}

function age(from: string, now: number): string {
  const milliseconds = now - Date.parse(from);
  if (milliseconds < 3_600_000) return `${formatSeconds(milliseconds)} ago`;
  if (milliseconds < 86_400_000) return `${(milliseconds / 3_600_000).toFixed(1)}h ago`;
  return `${(milliseconds / 86_400_000).toFixed(1)}d ago`;
}

/** `list`: one row per record. */
export function formatRecordTable(records: GenerationRecord[], now: number = Date.now()): string {
  if (records.length === 0) return "No generations match.\n";
  const header = ["ID", "STATUS", "STAGE", "SECONDS", "COST", "CACHE HIT", "AGE"];
  const rows = records.map((record) => [
    record.generationId,
    record.status,
    record.stage,
    record.result ? record.result.duration.toFixed(1) : "-",
    record.result ? `${record.result.cost_estimate.amount} ${record.result.cost_estimate.currency}` : "-",
    record.result ? (record.result.cache_hit ? "yes" : "no") : "-",
    age(record.createdAt, now),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[header, ...rows].map(format).join("\n")}\n`;
}

/** `totals`. */
export function formatTotals(totals: Totals): string {
  const cost =
    totals.cost.length === 0
      ? "0"
      : totals.cost.map((entry) => `${entry.amount} ${entry.currency}`).join(", ");
  return [
    `Generations: ${totals.count} (${totals.succeeded} succeeded, ${totals.failed} failed, ${totals.canceled} canceled)`,
    `Rendered:    ${totals.videoSeconds.toFixed(1)} s of video (cache hits not counted)`,
    `Cost:        ${cost} (estimate)`,
    "",
  ].join("\n");
}
