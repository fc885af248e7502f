import type { GenerationView } from "./generation-view.ts";
import { COMPARED_PARAMETERS } from "./generation-view.ts";
import { html, type SafeHtml } from "./html-template.ts";
import {
  formatBytes,
  formatCost,
  formatMs,
  formatSeconds,
  formatTime,
  progressBar,
  statusBadge,
} from "./page-format.ts";

/** What the detail page shows. */
export interface DetailPageModel {
  basePath: string;
  view: GenerationView;
  /** Whether Replay and Cancel are offered (VIDEO_GEN_UI_ACTIONS=1 and a way to send events). */
  actionsEnabled: boolean;
  /** Why they are not, shown instead of the buttons. */
  actionsDisabledReason: string;
}

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

export function renderDetailBody(model: DetailPageModel): SafeHtml {
  const { view, basePath } = model;
  const live = view.progress !== null;
  return html`<article class="detail" data-generation-id="${view.generation_id}"${live ? html` data-live="1"` : ""}>
<h1>${view.generation_id} ${statusBadge(view.status)}</h1>
<div class="player-row">
<figure class="player">${
    view.media.video
      ? html`<video controls preload="none" playsinline ${view.media.poster ? html`poster="${view.media.poster}"` : ""} src="${view.media.video}" width="640"></video>`
      : html`<div class="no-video" data-field="stage">${view.status === "succeeded" ? "the stored video is gone" : view.progress ? view.stage : `no video: ${view.status}`}</div>`
  }
<figcaption>${view.media.video ? html`<a href="${view.media.video}" download>download MP4</a> · ${formatBytes(view.bytes)}` : ""}</figcaption>
</figure>
<figure class="reference">${
    view.media.image
      ? html`<img src="${view.media.image}" alt="reference image" width="320">`
      : html`<div class="no-image">reference image not stored</div>`
  }<figcaption>reference image</figcaption></figure>
</div>
${progressBar(view)}
${view.error ? html`<section class="error-box"><h2>Error</h2><p><code>${view.error.code}</code></p><p>${view.error.message}</p></section>` : ""}
${actions(model)}
<section><h2>Prompt</h2><p class="full-prompt">${view.prompt}</p>
${view.negative_prompt ? html`<p class="negative"><strong>Negative:</strong> ${view.negative_prompt}</p>` : ""}</section>
<section class="facts"><h2>Facts</h2><dl>
<dt>status</dt><dd data-field="status-text">${view.status} (${view.stage}${view.provider_status ? `, provider ${view.provider_status}` : ""})</dd>
<dt>created</dt><dd>${formatTime(view.created_at)}</dd>
<dt>completed</dt><dd>${formatTime(view.completed_at)}</dd>
<dt>seed</dt><dd>${view.seed ?? "–"}</dd>
<dt>duration</dt><dd>${formatSeconds(view.duration)}</dd>
<dt>size</dt><dd>${view.size ?? "–"}</dd>
<dt>fps</dt><dd>${view.fps ?? "–"}</dd>
<dt>cost</dt><dd>${formatCost(view)}</dd>
<dt>cache hit</dt><dd>${view.cache_hit === null ? "–" : view.cache_hit ? "yes" : "no"}</dd>
<dt>model</dt><dd>${view.model}</dd>
<dt>provider task</dt><dd><code>${view.task_id ?? "–"}</code></dd>
<dt>provider request</dt><dd><code>${view.provider_request_id ?? "–"}</code></dd>
<dt>Inngest run</dt><dd><code>${view.run_id ?? "–"}</code></dd>
${view.attached_to ? html`<dt>shared render of</dt><dd><a href="${basePath}/gallery/g/${encodeURIComponent(view.attached_to)}">${view.attached_to}</a></dd>` : ""}
</dl></section>
<section class="timings"><h2>Timings</h2><dl>
<dt>queued at provider</dt><dd>${formatMs(view.timings?.queued_ms)}</dd>
<dt>render</dt><dd>${formatMs(view.timings?.render_ms)}</dd>
<dt>copy</dt><dd>${formatMs(view.timings?.copy_ms)}</dd>
<dt>total</dt><dd>${formatMs(view.timings?.total_ms)}</dd>
</dl></section>
${
  view.warnings.length > 0
    ? html`<section><h2>Warnings</h2><ul class="warnings">${view.warnings.map(
        (warning) => html`<li><code>${warning.field}</code> ${warning.reason}</li>`,
      )}</ul></section>`
    : ""
}
<section><h2>Parameters</h2><table class="parameters"><tbody>
${COMPARED_PARAMETERS.filter((name) => name !== "prompt" && name !== "negative_prompt").map(
  (name) => html`<tr><th>${name}</th><td>${displayValue(view.request[name])}</td></tr>`,
)}
${view.correlation ? html`<tr><th>correlation</th><td><code>${JSON.stringify(view.correlation)}</code></td></tr>` : ""}
</tbody></table></section>
</article>`;
}

/**
 * The page of a generation just sent (Replay) whose run has not written its record yet: it turns into the detail
 * page as soon as the record exists (the script looks every 2 s; without it the page reloads itself).
 */
export function renderAwaitingBody(generationId: string): SafeHtml {
  return html`<article class="detail" data-generation-id="${generationId}" data-live="1" data-awaiting="1">
<h1>${generationId} <span class="badge badge-pending" data-field="status">sent</span></h1>
<p class="awaiting">Sent to Inngest; this page shows the generation as soon as its run has started and recorded it.</p>
</article>`;
}

function actions(model: DetailPageModel): SafeHtml {
  const { view, basePath } = model;
  if (!model.actionsEnabled) return html`<p class="actions-off">${model.actionsDisabledReason}</p>`;
  const base = `${basePath}/gallery/g/${encodeURIComponent(view.generation_id)}`;
  return html`<p class="actions">
<a class="button" href="${base}/replay">Replay…</a>
${TERMINAL.has(view.status) ? "" : html`<a class="button danger" href="${base}/cancel">Cancel…</a>`}
</p>`;
}

/** Request values as text; the recorded request keeps no data: URI or URL query. */
export function displayValue(value: unknown): string {
  if (value === undefined || value === null) return "–";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
