import { displayValue } from "./gallery-detail-page.ts";
import type { GenerationView } from "./generation-view.ts";
import { COMPARED_PARAMETERS } from "./generation-view.ts";
import { html, type SafeHtml } from "./html-template.ts";
import { formatCost, formatSeconds, statusBadge } from "./page-format.ts";

/** What the compare view shows: takes side by side, their differences marked. */
export interface ComparePageModel {
  basePath: string;
  views: GenerationView[];
  /** What was compared, for the heading: a correlation filter or "chosen set". */
  subject: string;
}

/** The parameter rows, each with whether its value differs between the takes. */
export function compareRows(
  views: readonly GenerationView[],
): Array<{ name: string; values: string[]; differs: boolean }> {
  return COMPARED_PARAMETERS.map((name) => {
    const values = views.map((view) =>
      name === "seed"
        ? displayValue(view.seed)
        : name === "prompt"
          ? view.prompt
          : displayValue(view.request[name]),
    );
    return { name, values, differs: new Set(values).size > 1 };
  });
}

export function renderCompareBody(model: ComparePageModel): SafeHtml {
  const { views, basePath } = model;
  if (views.length === 0)
    return html`<p class="empty">Nothing to compare: choose takes on the grid, or a correlation group.</p>`;
  const rows = compareRows(views);
  return html`<h1>Compare ${views.length} takes <small>${model.subject}</small></h1>
<p><button type="button" class="play-all" data-action="play-all" hidden>Play all together</button>
<button type="button" data-action="pause-all" hidden>Pause all</button></p>
<div class="compare-grid takes-${Math.min(views.length, 4)}">
${views.map(
  (view) => html`<figure class="take" data-generation-id="${view.generation_id}">
${
  view.media.video
    ? html`<video class="synced" controls muted playsinline preload="metadata" ${view.media.poster ? html`poster="${view.media.poster}"` : ""} src="${view.media.video}"></video>`
    : html`<div class="no-video">${view.status}</div>`
}
<figcaption><a href="${basePath}/gallery/g/${encodeURIComponent(view.generation_id)}">${view.generation_id}</a> ${statusBadge(view.status)}
· seed ${view.seed ?? "–"} · ${formatSeconds(view.duration)} · ${formatCost(view)}</figcaption>
</figure>`,
)}
</div>
<table class="compare-table">
<thead><tr><th></th>${views.map((view) => html`<th>${view.generation_id}</th>`)}</tr></thead>
<tbody>
${rows.map(
  (row) =>
    html`<tr class="${row.differs ? "differs" : "same"}"><th>${row.name}${row.differs ? html` <span class="differs-mark">differs</span>` : ""}</th>${row.values.map(
      (value) => html`<td>${value}</td>`,
    )}</tr>`,
)}
</tbody>
</table>`;
}
