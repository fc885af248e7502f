import type { GenerationView } from "./generation-view.ts";
import { html, type SafeHtml } from "./html-template.ts";

/** `1.50 CNY`; cache hits and shared renders are not billed again. */
export function formatCost(view: Pick<GenerationView, "cost_estimate" | "cache_hit">): string {
  if (!view.cost_estimate) return "–";
  const amount = `${view.cost_estimate.amount.toFixed(2)} ${view.cost_estimate.currency}`;
  return view.cache_hit ? `${amount} (cache)` : amount;
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return "–";
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "–";
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A `<time>` the reader sees in UTC, machine-readable for the script. */
export function formatTime(iso: string | null): SafeHtml {
  if (!iso) return html`–`;
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time>`;
}

/** The badge's text and class: one color per status. */
export function statusBadge(status: string): SafeHtml {
  return html`<span class="badge badge-${status}" data-field="status">${status}</span>`;
}

/** The progress bar of an in-flight generation; the script updates it in place. */
export function progressBar(view: GenerationView): SafeHtml {
  if (!view.progress) return html``;
  return html`<div class="progress" data-field="progress">
<progress max="1" value="${view.progress.fraction}"></progress>
<span class="progress-text">${view.progress.text}</span>
</div>`;
}

/** A copy of `params` with `changes` applied (null deletes), as a query string with its `?`. */
export function withParams(params: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) next.delete(name);
    else next.set(name, value);
  }
  const text = next.toString();
  return text ? `?${text}` : "";
}
