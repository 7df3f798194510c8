// A shared page counts a play when a player actually starts, once per player and page view:
// fetching the page or the file (bots, previews, seeks) counts nothing.
(function () {
  "use strict";
  const holder = document.querySelector("[data-share-plays]");
  if (!holder) return;
  const token = holder.dataset.csrfToken;
  document.querySelectorAll("audio[data-played-url]").forEach((player) => {
    player.addEventListener("play", () => {
      fetch(player.dataset.playedUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
        keepalive: true,
      });
    }, { once: true });
  });
})();
