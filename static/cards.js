// A poll answer may ask the page for one more look before its next regular refresh: soon when a
// job's audio is moments away, or just after news of a job is due (a worker's planned check with
// the provider, or the model's usual finish). The poller (project.html) turns "cards-look-now"
// into a request. One planned look at a time, and never closer than the poller's data-look-gap
// (ms) to any other request of the poller: however many jobs are finishing, a page makes at most
// two requests per refresh interval (the regular refresh and one extra look).
let plannedLook = null;
let lastRequest = 0;
const lookGap = (poller) => Number(poller.dataset.lookGap || 0);

document.addEventListener("htmx:beforeRequest", (event) => {
  if (event.target.id !== "card-poller") return;
  // A regular refresh falling just after an extra look would fetch the same news again: skip it.
  if (Date.now() - lastRequest < lookGap(event.target)) return event.preventDefault();
  lastRequest = Date.now();
});

function planLook(at) {
  clearTimeout(plannedLook);
  plannedLook = setTimeout(() => {
    const poller = document.getElementById("card-poller");
    if (!poller) return;
    const notBefore = lastRequest + lookGap(poller);
    if (Date.now() < notBefore) return planLook(notBefore); // a regular refresh went first
    htmx.trigger(poller, "cards-look-now");
  }, Math.max(0, at - Date.now()));
}

document.addEventListener("cards-look", (event) => planLook(Date.now() + event.detail.in));
