// A shared page counts a play when the page's player actually starts a track, once per track and
// page view: fetching the page or the file (bots, previews, seeks) counts nothing. Each track's
// play control sits inside an element naming where to report its play (data-played-url).
(function () {
  "use strict";
  const holder = document.querySelector("[data-share-plays]");
  if (!holder) return;
  const token = holder.dataset.csrfToken;
  const reported = new Set();
  document.addEventListener("play", (event) => {
    const audio = event.target;
    if (!(audio instanceof HTMLMediaElement)) return;
    const playing = new URL(audio.currentSrc || audio.src, location.href).pathname;
    for (const item of document.querySelectorAll("[data-played-url] [data-track-play]")) {
      if (new URL(item.dataset.src, location.href).pathname !== playing) continue;
      const url = item.closest("[data-played-url]").dataset.playedUrl;
      if (reported.has(url)) return;
      reported.add(url);
      fetch(url, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin", keepalive: true });
      return;
    }
  }, true);  // play events do not bubble: listen while they travel down
})();
