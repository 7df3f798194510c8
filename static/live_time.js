// Times that stay true while a page is open: "4 seconds ago" grows, a pending card's elapsed time
// ticks, a retry counts down to its next try and an estimate counts down to the model's usual
// finish (then says when a job runs later than usual). The server renders the first words; this
// keeps them current, once a second, from the <time datetime> it put beside them.
(function () {
  "use strict";

  function seconds(ms) { return Math.max(0, Math.round(ms / 1000)); }

  function duration(s) {
    const minutes = Math.floor(s / 60);
    return minutes ? minutes + " min " + (s % 60) + " s" : s + " s";
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function relative(ms) {
    const s = seconds(ms);
    if (s < 5) return "just now";
    if (s < 60) return plural(s, "second") + " ago";
    if (s < 3600) return plural(Math.floor(s / 60), "minute") + " ago";
    if (s < 86400) return plural(Math.floor(s / 3600), "hour") + " ago";
    return null; // older: the date the server wrote stays
  }

  function when(element) {
    const at = Date.parse(element.getAttribute("datetime"));
    return Number.isNaN(at) ? null : at;
  }

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time[data-relative]")) {
      const at = when(el);
      const text = at === null ? null : relative(now - at);
      if (text && el.textContent !== text) el.textContent = text;
    }
    for (const el of document.querySelectorAll("time[data-elapsed]")) {
      const at = when(el);
      if (at !== null) el.textContent = duration(seconds(now - at));
    }
    for (const el of document.querySelectorAll("time[data-countdown]")) {
      const at = when(el);
      if (at === null) continue;
      const left = at - now;
      el.textContent = left >= 500 ? "in " + duration(seconds(left)) : "now";
    }
    for (const el of document.querySelectorAll("[data-eta]")) {
      const finish = when(el);
      const slowAfter = Date.parse(el.dataset.slowAfter);
      if (finish === null) continue;
      let text;
      if (finish - now >= 1000) text = "about " + duration(seconds(finish - now)) + " left";
      else if (Number.isNaN(slowAfter) || now < slowAfter) text = "any moment now";
      else text = "slower than usual" + (el.dataset.usual ? " (usually " + el.dataset.usual + ")" : "");
      el.textContent = text;
      el.classList.toggle("slow", text.startsWith("slower"));
    }
  }

  setInterval(tick, 1000);
  document.addEventListener("htmx:load", tick);
})();
