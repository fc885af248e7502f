import type { GenerationView } from "./generation-view.ts";
import { html, type SafeHtml } from "./html-template.ts";

/** The sign-in form: the operator token, posted once, becomes an HttpOnly session cookie. */
export function renderLoginBody(input: { basePath: string; next: string; failed: boolean }): SafeHtml {
  return html`<form class="login" method="post" action="${input.basePath}/gallery/login">
<h1>Sign in</h1>
${input.failed ? html`<p class="notice notice-error" role="alert">That is not the operator token.</p>` : ""}
<label>Operator token (VIDEO_GEN_UI_TOKEN) <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<input type="hidden" name="next" value="${input.next}">
<button type="submit">Sign in</button>
</form>`;
}

/** The confirm step of Replay and Cancel: a GET shows it, only its POST acts. */
export function renderConfirmBody(input: {
  basePath: string;
  view: GenerationView;
  action: "replay" | "cancel";
  csrf: string;
}): SafeHtml {
  const { view, basePath, action } = input;
  const target = `${basePath}/gallery/g/${encodeURIComponent(view.generation_id)}/${action}`;
  const back = `${basePath}/gallery/g/${encodeURIComponent(view.generation_id)}`;
  const explanation =
    action === "replay"
      ? html`<p>Runs the recorded request again as a new generation. The cache answers it (nothing is billed) unless you
ask for a new render below, which is billed.</p>
<label><input type="checkbox" name="force" value="1"> render again (skip the cache; billed)</label>`
      : html`<p>Cancels the run. A provider task that is still PENDING is canceled and not billed; a RUNNING one finishes
and is billed. The record is marked canceled and its budget slot freed.</p>
<label>Reason <input name="reason" value="canceled from the gallery" maxlength="200"></label>`;
  return html`<form class="confirm" method="post" action="${target}">
<h1>${action === "replay" ? "Replay" : "Cancel"} ${view.generation_id}?</h1>
<p class="prompt">${view.prompt}</p>
${explanation}
<input type="hidden" name="csrf" value="${input.csrf}">
<p><button type="submit" class="${action === "cancel" ? "danger" : ""}">${action === "replay" ? "Replay" : "Cancel the generation"}</button>
<a href="${back}">Back</a></p>
</form>`;
}
