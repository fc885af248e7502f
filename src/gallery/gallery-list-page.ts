import type { CorrelationGroup } from "../metadata/generation-queries.ts";
import type { Totals } from "../metadata/generation-record.ts";
import type { GenerationView } from "./generation-view.ts";
import { html, type SafeHtml } from "./html-template.ts";
import {
  formatCost,
  formatSeconds,
  formatTime,
  progressBar,
  statusBadge,
  withParams,
} from "./page-format.ts";

const STATUSES = ["pending", "submitted", "copying", "attached", "succeeded", "failed", "canceled"] as const;

/** What the grid page shows. */
export interface ListPageModel {
  basePath: string;
  /** The request's query (filters, cursor), kept in every link. */
  params: URLSearchParams;
  generations: GenerationView[];
  totals: Totals;
  nextCursor: string | null;
  /** Set when the page groups by a correlation key. */
  groups?: { key: string; rows: CorrelationGroup[] };
}

export function renderListBody(model: ListPageModel): SafeHtml {
  return html`${filterForm(model)}
${totalsLine(model.totals)}
${model.groups ? groupTable(model) : grid(model)}`;
}

function filterForm(model: ListPageModel): SafeHtml {
  const { params, basePath } = model;
  const chosen = new Set(params.getAll("status").flatMap((value) => value.split(",")));
  return html`<form class="filters" method="get" action="${basePath}/gallery">
<fieldset class="statuses"><legend>Status</legend>
${STATUSES.map(
  (status) =>
    html`<label><input type="checkbox" name="status" value="${status}"${chosen.has(status) ? html` checked` : ""}> ${status}</label>`,
)}
</fieldset>
<label>From <input name="from" value="${params.get("from") ?? ""}" placeholder="24h, 7d or 2026-12-01T00:00Z"></label>
<label>To <input name="to" value="${params.get("to") ?? ""}" placeholder="ISO time"></label>
<label>Correlation <input name="correlation" value="${params.get("correlation") ?? ""}" placeholder="key=value"></label>
<label>Prompt <input name="q" type="search" value="${params.get("q") ?? ""}" placeholder="words of the prompt"></label>
<label>Seed <input name="seed" inputmode="numeric" value="${params.get("seed") ?? ""}"></label>
<label>Group by <input name="group" value="${params.get("group") ?? ""}" placeholder="correlation key"></label>
<button type="submit">Apply</button> <a href="${basePath}/gallery">Clear</a>
</form>`;
}

function totalsLine(totals: Totals): SafeHtml {
  const cost =
    totals.cost.length > 0 ? totals.cost.map((c) => `${c.amount.toFixed(2)} ${c.currency}`).join(" + ") : "0";
  return html`<p class="totals" data-field="totals">
<strong data-total="count">${totals.count}</strong> generations ·
<span data-total="succeeded">${totals.succeeded}</span> succeeded ·
<span data-total="failed">${totals.failed}</span> failed ·
<span data-total="canceled">${totals.canceled}</span> canceled ·
<span data-total="seconds">${formatSeconds(Math.round(totals.videoSeconds * 10) / 10)}</span> rendered ·
<span data-total="cost">${cost}</span> estimated cost
</p>`;
}

function grid(model: ListPageModel): SafeHtml {
  const { basePath, params } = model;
  if (model.generations.length === 0) return html`<p class="empty">No generation matches these filters.</p>`;
  return html`<form method="get" action="${basePath}/gallery/compare" class="compare-form">
<p><button type="submit">Compare selected</button></p>
<ul class="grid">
${model.generations.map((view) => card(view, basePath))}
</ul>
</form>
<nav class="pages">
${params.get("cursor") ? html`<a href="${basePath}/gallery${withParams(params, { cursor: null })}">Newest</a>` : ""}
${model.nextCursor ? html`<a rel="next" href="${basePath}/gallery${withParams(params, { cursor: model.nextCursor })}">Older</a>` : ""}
</nav>`;
}

function card(view: GenerationView, basePath: string): SafeHtml {
  const detail = `${basePath}/gallery/g/${encodeURIComponent(view.generation_id)}`;
  const live = view.progress !== null;
  return html`<li class="card status-${view.status}" data-generation-id="${view.generation_id}"${live ? html` data-live="1"` : ""}>
<a class="thumb" href="${detail}">${
    view.media.poster
      ? html`<img loading="lazy" src="${view.media.poster}" alt="poster of ${view.generation_id}" width="320" height="180">`
      : view.media.image
        ? html`<span class="no-poster with-image"><img loading="lazy" class="reference-thumb" src="${view.media.image}" alt="reference image of ${view.generation_id}" width="320" height="180"><span class="placeholder-text">${placeholderText(view)}</span></span>`
        : html`<span class="no-poster">${placeholderText(view)}</span>`
  }</a>
<div class="meta">
${statusBadge(view.status)}
<label class="pick"><input type="checkbox" name="id" value="${view.generation_id}"> compare</label>
<a class="id" href="${detail}">${view.generation_id}</a>
<p class="prompt" title="${view.prompt}">${view.prompt.length > 140 ? `${view.prompt.slice(0, 140)}…` : view.prompt}</p>
<dl>
<dt>created</dt><dd>${formatTime(view.created_at)}</dd>
<dt>duration</dt><dd data-field="duration">${formatSeconds(view.duration)}</dd>
<dt>size</dt><dd data-field="size">${view.size ?? "–"}</dd>
<dt>cost</dt><dd data-field="cost">${formatCost(view)}</dd>
<dt>seed</dt><dd>${view.seed ?? "–"}</dd>
</dl>
${progressBar(view)}
${view.error ? html`<p class="error-line">${view.error.code}</p>` : ""}
</div>
</li>`;
}

/** What a card without a poster says: where an in-flight generation is, or how it ended. */
function placeholderText(view: GenerationView): string {
  if (view.status === "succeeded") return "no poster";
  return view.progress ? view.stage : view.status;
}

function groupTable(model: ListPageModel): SafeHtml {
  const groups = model.groups;
  if (!groups) return html``;
  const { basePath, params } = model;
  if (groups.rows.length === 0)
    return html`<p class="empty">No generation has the correlation key ${groups.key}.</p>`;
  return html`<table class="groups">
<thead><tr><th></th><th>${groups.key}</th><th>takes</th><th>newest</th><th>rendered</th><th>cost</th><th></th></tr></thead>
<tbody>
${groups.rows.map((group) => {
  const filter = `${groups.key}=${group.value}`;
  const cost = group.totals.cost.map((c) => `${c.amount.toFixed(2)} ${c.currency}`).join(" + ") || "0";
  return html`<tr>
<td>${group.newest.posterKey ? html`<img loading="lazy" src="${basePath}/media/${encodeURIComponent(group.newestGenerationId)}/poster" alt="" width="96" height="54">` : ""}</td>
<td><a href="${basePath}/gallery${withParams(params, { group: null, cursor: null, correlation: filter })}">${group.value}</a></td>
<td>${group.count}</td>
<td>${formatTime(group.newestCreatedAt)}</td>
<td>${formatSeconds(Math.round(group.totals.videoSeconds * 10) / 10)}</td>
<td>${cost}</td>
<td><a href="${basePath}/gallery/compare?correlation=${encodeURIComponent(filter)}">compare takes</a></td>
</tr>`;
})}
</tbody>
</table>`;
}
