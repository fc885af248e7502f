// The gallery's one script. The pages work without it (they reload on their own while something is in flight);
// with it, in-flight cards and the detail page update in place, and the compare view plays its takes together.

const POLL_MS = 2000;
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const basePath = document.body.dataset.basePath || "";

function update(element, view) {
  const badge = element.querySelector('[data-field="status"]');
  if (badge) {
    badge.textContent = view.status;
    badge.className = `badge badge-${view.status}`;
  }
  const bar = element.querySelector('[data-field="progress"] progress');
  if (bar && view.progress) bar.value = view.progress.fraction;
  const text = element.querySelector('[data-field="progress"] .progress-text');
  if (text && view.progress) text.textContent = view.progress.text;
  const stage = element.querySelector('[data-field="stage"]');
  if (stage) stage.textContent = view.stage;
  element.dataset.stage = view.stage;
}

async function pollLive() {
  const live = Array.from(document.querySelectorAll('[data-live="1"][data-generation-id]'));
  if (live.length === 0) return;
  const query = new URLSearchParams();
  for (const element of live) query.append("id", element.dataset.generationId);
  query.set("limit", String(live.length));
  try {
    const response = await fetch(`${basePath}/api/generations?${query}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    let ended = false;
    for (const view of body.generations) {
      for (const element of live) {
        if (element.dataset.generationId !== view.generation_id) continue;
        update(element, view);
        // A page waiting for a just-sent generation's record shows it once it exists.
        if (TERMINAL.has(view.status) || element.dataset.awaiting === "1") ended = true;
      }
    }
    // A finished generation has a poster and a player now: the server renders them.
    if (ended) {
      window.location.reload();
      return;
    }
  } catch {
    // The server is restarting or the network blinked: try again at the next tick.
  }
  window.setTimeout(pollLive, POLL_MS);
}

function setUpCompare() {
  const videos = Array.from(document.querySelectorAll("video.synced"));
  const playAll = document.querySelector('[data-action="play-all"]');
  const pauseAll = document.querySelector('[data-action="pause-all"]');
  if (videos.length === 0 || !playAll || !pauseAll) return;
  playAll.hidden = false;
  pauseAll.hidden = false;
  const ready = (video) =>
    video.readyState >= 3
      ? Promise.resolve()
      : new Promise((resolve) => video.addEventListener("canplay", resolve, { once: true }));
  playAll.addEventListener("click", async () => {
    for (const video of videos) {
      video.pause();
      video.currentTime = 0;
      if (video.readyState < 3) video.load();
    }
    await Promise.all(videos.map(ready));
    await Promise.all(videos.map((video) => video.play().catch(() => undefined)));
  });
  pauseAll.addEventListener("click", () => {
    for (const video of videos) video.pause();
  });
  // Keep the others on the first take's clock: drift past a few frames is corrected.
  const [leader, ...followers] = videos;
  leader.addEventListener("timeupdate", () => {
    for (const video of followers) {
      if (!video.paused && Math.abs(video.currentTime - leader.currentTime) > 0.15) {
        video.currentTime = leader.currentTime;
      }
    }
  });
}

setUpCompare();
window.setTimeout(pollLive, POLL_MS);
