// The page's one player (base.html's bar) and every track's play control and waveform.
//
// A track wherever it is listed (a card, a library row, the track page, a share page) is a
// [data-track-play] element: a play link (its href is the audio, for pages without scripts), a
// waveform drawn from data-peaks (base64 of signed bytes: min, max, min, max, ...) and its length.
// Playing any of them plays it in the bar, which sits outside everything htmx swaps, so it keeps
// playing while cards refresh and the library follows teammates' changes. Next and previous
// follow the list the track was started from (the closest [data-playlist]: the cards, the
// library's results). Keyboard: Space play/pause, J/L or ←/→ seek 5 s, K or ↓ next,
// Shift+K or ↑ previous; none of them while typing in a field. Ctrl/⌘+Enter in the generate
// form submits it.
(function () {
  "use strict";
  if (window.studioPlayer) return;

  const SEEK_SECONDS = 5;
  const bar = () => document.getElementById("player");
  const audio = () => bar()?.querySelector("[data-player-audio]");
  let current = null; // {id, src, title, href, peaks, playlist}

  // --- Waveforms ---------------------------------------------------------------------------

  function decode(peaks) {
    if (!peaks) return null;
    try {
      const raw = atob(peaks);
      const values = new Int8Array(raw.length);
      for (let i = 0; i < raw.length; i++) values[i] = raw.charCodeAt(i) << 24 >> 24;
      return values;
    } catch (error) {
      return null;
    }
  }

  function colours(element) {
    const style = getComputedStyle(element);
    return {
      played: style.getPropertyValue("--wave-played").trim() || "#3b5bdb",
      rest: style.getPropertyValue("--wave-rest").trim() || "#b8c0d0",
    };
  }

  function draw(container, progress) {
    const canvas = container.querySelector("canvas");
    if (!canvas) return;
    const width = container.clientWidth, height = container.clientHeight;
    if (!width || !height) return;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const values = decode(container.dataset.peaks || (container.dataset.playerWave !== undefined && current ? current.peaks : ""));
    const { played, rest } = colours(container);
    const middle = height / 2;
    const split = width * Math.min(1, Math.max(0, progress || 0));
    if (!values || values.length < 2) { // no waveform (yet): a plain line, shaded as it plays
      context.fillStyle = rest;
      context.fillRect(0, middle - 1, width, 2);
      context.fillStyle = played;
      context.fillRect(0, middle - 1, split, 2);
      return;
    }
    const buckets = values.length / 2;
    let loudest = 1;
    for (const v of values) loudest = Math.max(loudest, Math.abs(v));
    const step = width / buckets;
    const barWidth = Math.max(1, step * 0.7);
    for (let i = 0; i < buckets; i++) {
      const x = i * step;
      const top = middle - (Math.max(0, values[2 * i + 1]) / loudest) * (middle - 1);
      const bottom = middle - (Math.min(0, values[2 * i]) / loudest) * (middle - 1);
      context.fillStyle = x < split ? played : rest;
      context.fillRect(x, top, barWidth, Math.max(1, bottom - top));
    }
  }

  function progressOf(container) {
    const player = audio();
    const item = container.closest("[data-track-play]");
    const isCurrent = container.dataset.playerWave !== undefined || (item && current && item.dataset.trackPlay === current.id);
    if (!isCurrent || !player || !player.duration) return 0;
    return player.currentTime / player.duration;
  }

  function drawAll(scope) {
    for (const wave of (scope || document).querySelectorAll(".waveform")) draw(wave, progressOf(wave));
  }

  function drawCurrent() {
    if (!current) return;
    for (const item of document.querySelectorAll(`[data-track-play="${CSS.escape(current.id)}"] .waveform`)) {
      draw(item, progressOf(item));
    }
    const wave = bar()?.querySelector("[data-player-wave]");
    if (wave) draw(wave, progressOf(wave));
  }

  // Tracks stored before waveforms existed: one request for all of a page's.
  function fetchMissing(scope) {
    const url = bar()?.dataset.waveformsUrl;
    const missing = [...(scope || document).querySelectorAll("[data-peaks-missing]")];
    if (!url || !missing.length) return;
    const ids = [...new Set(missing.map((el) => el.dataset.peaksMissing))].slice(0, 25);
    missing.forEach((el) => el.removeAttribute("data-peaks-missing"));
    fetch(url + "?width=160&" + ids.map((id) => "ids=" + encodeURIComponent(id)).join("&"), { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((found) => {
        for (const [id, peaks] of Object.entries(found)) {
          for (const wave of document.querySelectorAll(`[data-track-play="${CSS.escape(id)}"] .waveform`)) {
            wave.dataset.peaks = peaks;
            wave.classList.toggle("flat", !peaks);
            draw(wave, progressOf(wave));
          }
        }
      })
      .catch(() => {}); // a plain line stays: the track plays all the same
  }

  // --- The player ----------------------------------------------------------------------------

  function clock(seconds) {
    if (!Number.isFinite(seconds)) return "0:00";
    const total = Math.max(0, Math.round(seconds));
    const minutes = Math.floor(total / 60);
    return minutes + ":" + String(total % 60).padStart(2, "0");
  }

  function describe(item) {
    const wave = item.querySelector(".waveform");
    return {
      id: item.dataset.trackPlay,
      src: item.dataset.src,
      title: item.dataset.title,
      href: item.dataset.href || "",
      peaks: wave ? wave.dataset.peaks : "",
      playlist: item.closest("[data-playlist]")?.id || "",
    };
  }

  function play(item, fraction) {
    const player = audio();
    if (!player) return;
    const track = describe(item);
    if (!current || current.id !== track.id) {
      current = track;
      player.src = track.src;
      const title = bar().querySelector("[data-player-title]");
      title.textContent = track.title;
      if (track.href) title.setAttribute("href", track.href); else title.removeAttribute("href");
      bar().hidden = false;
      document.body.classList.add("has-player");
      drawAll(document); // the track played before loses its shading
    }
    const start = () => {
      if (fraction !== undefined && player.duration) player.currentTime = fraction * player.duration;
      player.play().catch(() => {}); // a refused autoplay leaves the bar ready to press play
    };
    if (fraction !== undefined && !player.duration) player.addEventListener("loadedmetadata", start, { once: true });
    start();
    mark();
  }

  function toggle() {
    const player = audio();
    if (!current) {
      const first = document.querySelector("[data-playlist] [data-track-play], [data-track-play]");
      if (first) play(first);
      return;
    }
    if (player.paused) player.play().catch(() => {}); else player.pause();
  }

  function seek(delta) {
    const player = audio();
    if (!current || !player.duration) return;
    player.currentTime = Math.min(player.duration, Math.max(0, player.currentTime + delta));
  }

  function playlistItems() {
    const list = current && current.playlist ? document.getElementById(current.playlist) : null;
    return [...(list || document).querySelectorAll("[data-track-play]")];
  }

  function step(offset) {
    if (!current) return;
    const items = playlistItems();
    const at = items.findIndex((item) => item.dataset.trackPlay === current.id);
    const next = items[at + offset];
    if (next) play(next, 0);
  }

  // Which controls show "playing": every listing of the current track, and the bar's button.
  function mark() {
    const player = audio();
    const playing = !!(current && player && !player.paused);
    for (const item of document.querySelectorAll("[data-track-play]")) {
      const isCurrent = !!current && item.dataset.trackPlay === current.id;
      item.classList.toggle("is-current", isCurrent);
      item.classList.toggle("is-playing", isCurrent && playing);
      const label = item.querySelector("[data-play] .visually-hidden");
      if (label) label.textContent = (isCurrent && playing ? "Pause “" : "Play “") + item.dataset.title + "”";
    }
    const button = bar()?.querySelector('[data-player="toggle"]');
    if (button) {
      button.setAttribute("aria-pressed", String(playing));
      button.classList.toggle("is-playing", playing);
      button.querySelector("[data-player-toggle-label]").textContent = playing ? "Pause" : "Play";
    }
  }

  function showTime() {
    const player = audio();
    if (!player) return;
    const time = bar().querySelector("[data-player-time]");
    time.textContent = clock(player.currentTime) + " / " + clock(player.duration);
    const wave = bar().querySelector("[data-player-wave]");
    wave.setAttribute("aria-valuemax", String(Math.round(player.duration || 0)));
    wave.setAttribute("aria-valuenow", String(Math.round(player.currentTime)));
    wave.setAttribute("aria-valuetext", clock(player.currentTime) + " of " + clock(player.duration));
    drawCurrent();
  }

  function wire() {
    const player = audio();
    if (!player || player.dataset.wired) return;
    player.dataset.wired = "true";
    for (const name of ["play", "pause", "emptied"]) player.addEventListener(name, mark);
    for (const name of ["timeupdate", "loadedmetadata", "seeked", "durationchange"]) player.addEventListener(name, showTime);
    player.addEventListener("ended", () => { mark(); step(1); });
    player.addEventListener("error", () => {
      bar().querySelector("[data-player-title]").textContent = "Could not play “" + (current ? current.title : "") + "”";
    });
    bar().addEventListener("click", (event) => {
      const control = event.target.closest("[data-player]");
      if (!control) return;
      const action = control.dataset.player;
      if (action === "toggle") toggle();
      else if (action === "next") step(1);
      else if (action === "previous") step(-1);
      else if (action === "close") {
        player.pause();
        player.removeAttribute("src");
        player.load();
        current = null;
        bar().hidden = true;
        document.body.classList.remove("has-player");
        mark();
      }
    });
  }

  // --- Clicks and keys -----------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-play]");
    if (button) {
      event.preventDefault();
      const item = button.closest("[data-track-play]");
      if (current && current.id === item.dataset.trackPlay) toggle(); else play(item);
      return;
    }
    const wave = event.target.closest(".waveform");
    if (!wave) return;
    const rect = wave.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    if (wave.dataset.playerWave !== undefined) {
      const player = audio();
      if (current && player.duration) player.currentTime = fraction * player.duration;
      return;
    }
    const item = wave.closest("[data-track-play]");
    if (!item) return;
    if (current && current.id === item.dataset.trackPlay && audio().duration) {
      audio().currentTime = fraction * audio().duration;
      if (audio().paused) audio().play().catch(() => {});
    } else {
      play(item, fraction);
    }
  });

  function typing(target) {
    return !!target.closest?.("input, textarea, select, [contenteditable]:not([contenteditable=false])");
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = event.target.closest?.("#generate-form");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    if (key === " " || key === "Spacebar") {
      if (event.target.closest?.("button, a, summary, [role=button]")) return; // Space presses those
      if (!current && !document.querySelector("[data-track-play]")) return;
      event.preventDefault();
      toggle();
      return;
    }
    if (!current) return; // nothing loaded: the keys keep their usual meaning
    const actions = {
      j: () => seek(-SEEK_SECONDS), J: () => seek(-SEEK_SECONDS), ArrowLeft: () => seek(-SEEK_SECONDS),
      l: () => seek(SEEK_SECONDS), L: () => seek(SEEK_SECONDS), ArrowRight: () => seek(SEEK_SECONDS),
      k: () => step(1), ArrowDown: () => step(1), K: () => step(-1), ArrowUp: () => step(-1),
    };
    if (actions[key]) {
      event.preventDefault();
      actions[key]();
    }
  });

  // --- Wiring --------------------------------------------------------------------------------

  function refresh(scope) {
    wire();
    mark();
    drawAll(scope);
    fetchMissing(scope);
  }

  document.addEventListener("htmx:load", (event) => refresh(event.detail.elt));
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => refresh(document));
  else refresh(document);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => drawAll(document), 100);
  });

  window.studioPlayer = { play, toggle, seek, step, get current() { return current; } };
})();
