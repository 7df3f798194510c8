// A waveform above each finished track in a set's grid, drawn from the audio itself (Web Audio
// decodes it; nothing is computed on the server). Tracks are drawn as they scroll into view and
// one at a time, so a grid of 200 cells never decodes more than one file at once. Cards that
// arrive later (a poll's out-of-band swap) get theirs too.
const BARS = 96;
const waiting = [];
let drawing = false;

function peaks(buffer) {
  const data = buffer.getChannelData(0);
  const size = Math.max(1, Math.floor(data.length / BARS));
  const out = [];
  for (let bar = 0; bar < BARS; bar++) {
    let peak = 0;
    for (let i = bar * size; i < Math.min(data.length, (bar + 1) * size); i++) peak = Math.max(peak, Math.abs(data[i]));
    out.push(peak);
  }
  const loudest = Math.max(...out, 1e-6);
  return out.map((p) => p / loudest);
}

function draw(canvas, values) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio;
  canvas.height = canvas.clientHeight * ratio;
  const context = canvas.getContext("2d");
  const width = canvas.width / values.length;
  context.fillStyle = getComputedStyle(canvas).color;
  values.forEach((value, bar) => {
    const height = Math.max(1, value * canvas.height);
    context.fillRect(bar * width, (canvas.height - height) / 2, Math.max(1, width - ratio), height);
  });
}

async function next() {
  if (drawing || !waiting.length) return;
  drawing = true;
  const audio = waiting.shift();
  try {
    const bytes = await (await fetch(audio.src, { credentials: "same-origin" })).arrayBuffer();
    const context = new (window.AudioContext || window.webkitAudioContext)();
    const buffer = await context.decodeAudioData(bytes);
    context.close();
    const canvas = document.createElement("canvas");
    canvas.className = "waveform";
    canvas.setAttribute("aria-hidden", "true");
    canvas.dataset.testid = "waveform";
    audio.before(canvas);
    draw(canvas, peaks(buffer));
  } catch (error) {
    audio.dataset.waveform = "failed"; // a file the browser cannot decode keeps its player alone
  } finally {
    drawing = false;
    next();
  }
}

const seen = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    seen.unobserve(entry.target);
    waiting.push(entry.target);
  }
  next();
});

function watch(root) {
  for (const audio of root.querySelectorAll(".set-grid audio[data-testid=player]:not([data-waveform])")) {
    audio.dataset.waveform = "queued";
    seen.observe(audio);
  }
}

document.addEventListener("DOMContentLoaded", () => watch(document));
document.addEventListener("htmx:load", (event) => watch(event.detail.elt.parentElement || document));
