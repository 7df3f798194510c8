// The library as members change it: when a poll brings the results again (cards.js), the tracks
// the user had ticked stay ticked and the focused control keeps focus. Also asks before a bulk
// delete (in a script, not an on* attribute: the Content-Security-Policy allows no inline code).
(function () {
  "use strict";
  if (window.studioLibrary) return;
  window.studioLibrary = true;

  let ticked = [];
  let focused = null;

  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    if (event.detail.target.id !== "library-results") return;
    ticked = [...event.detail.target.querySelectorAll("input[name=tracks]:checked")].map((box) => box.value);
    const active = document.activeElement;
    focused = active && event.detail.target.contains(active) && active.id ? active.id : null;
  });

  document.addEventListener("htmx:oobAfterSwap", (event) => {
    if (event.target.id !== "library-results") return;
    for (const value of ticked) {
      const box = event.target.querySelector(`input[name=tracks][value="${CSS.escape(value)}"]`);
      if (box) box.checked = true;
    }
    if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
  });
})();
