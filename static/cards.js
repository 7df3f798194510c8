// The project page following its team: one poll (project.html's #card-poller) brings changed
// cards, cards started by anyone in any tab, and the library again when a member changed it.
//
// Pace: every data-refresh ms while a card is pending, every data-idle-refresh ms otherwise
// (teammates may start jobs or change tracks at any time), data-hidden-slowdown times slower
// while the tab is hidden. A poll answer may ask for one extra look before the next refresh
// ("cards-look": a job's audio is moments away, or a worker's check is due): one planned
// request at a time, never closer than data-look-gap ms to the previous one, so a page makes at
// most two requests per interval however many cards it shows.
//
// It also brings a card started here into view and announces it, announces teammates' new cards
// and the end of one's own jobs, and when one's jobs end while the tab is hidden, counts them in
// the tab's title and (if allowed) shows a notification that leads back to the card.
(function () {
  "use strict";
  const poller = () => document.getElementById("card-poller");
  const cardsList = () => document.getElementById("cards");
  let timer = null;
  let plannedAt = Infinity;
  let lastRequest = Date.now();
  let inFlight = false;
  let stopped = false;
  let before = new Map(); // card id → state, as the page showed it when the poll left
  let startedHere = null; // the id of a card this page just started
  let unseen = 0;
  const title = document.title;

  function setting(name, fallback) {
    const value = Number(poller()?.dataset[name]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  }

  const pendingCount = () => document.querySelectorAll("#cards input[name=ids]").length;

  function interval() {
    const base = pendingCount() ? setting("refresh", 1500) : setting("idleRefresh", 12000);
    return document.hidden ? base * setting("hiddenSlowdown", 4) : base;
  }

  function plan(at) {
    if (stopped || (timer && plannedAt <= at)) return; // an earlier request is planned already
    clearTimeout(timer);
    plannedAt = at;
    timer = setTimeout(fire, Math.max(0, at - Date.now()));
  }

  function replan(at) {
    clearTimeout(timer);
    timer = null;
    plannedAt = Infinity;
    plan(at);
  }

  function fire() {
    timer = null;
    plannedAt = Infinity;
    const element = poller();
    if (!element || inFlight) return; // an answer on its way plans the next request
    const notBefore = lastRequest + setting("lookGap", 0);
    if (Date.now() < notBefore) return plan(notBefore);
    htmx.trigger(element, "cards-refresh");
  }

  // htmx hands the request's parameters as a FormData (behind a proxy that keeps its methods).
  const set = (parameters, name, value) => parameters.set(name, value);

  const cardIds = () => [...document.querySelectorAll("#cards [data-card]")].map((card) => Number(card.dataset.card));

  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id !== "card-poller") return;
    // Each pending card's id and the version the page shows, in one parameter (none pending: no ids at all).
    const ids = [...document.querySelectorAll("#cards input[name=ids]")].map((input) => input.value);
    if (ids.length) set(event.detail.parameters, "ids", ids.join(","));
    set(event.detail.parameters, "after", String(Math.max(0, ...cardIds())));
    const more = document.getElementById("more-pending");
    if (more) set(event.detail.parameters, "more", more.dataset.count || "0");
    const library = document.getElementById("library-results");
    if (library && library.dataset.libraryVersion !== undefined) {
      set(event.detail.parameters, "library", library.dataset.libraryVersion);
      set(event.detail.parameters, "library_query", library.dataset.libraryQuery || "");
    }
  });

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt.id !== "card-poller") return;
    inFlight = true;
    lastRequest = Date.now();
    clearTimeout(timer);
    timer = null;
    plannedAt = Infinity;
    before = new Map([...document.querySelectorAll("#cards [data-card]")].map((card) => [card.dataset.card, card.dataset.state]));
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.elt.id !== "card-poller") return;
    inFlight = false;
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 404 || status === 403) { // no longer a member: nothing more to follow
      stopped = true;
      return;
    }
    removeRepeats();
    noticeChanges();
    plan(lastRequest + interval());
  });

  document.addEventListener("cards-look", (event) => {
    plan(Math.max(Date.now() + event.detail.in, lastRequest + setting("lookGap", 0)));
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      unseen = 0;
      document.title = title;
    }
    replan(Math.max(Date.now(), lastRequest + interval())); // back in view after a while: look now
  });

  // A card can arrive twice (this tab's own new card and a poll crossing): keep the first.
  function removeRepeats() {
    const seen = new Set();
    for (const card of document.querySelectorAll("#cards [data-card]")) {
      if (seen.has(card.id)) card.remove();
      else seen.add(card.id);
    }
  }

  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 50); // a fresh text is read even if it repeats
  }

  function describe(card) {
    const track = card.querySelector(".track-title a");
    return track ? track.textContent.trim() : card.querySelector(".model")?.textContent.trim() || "a job";
  }

  const isPending = (state) => ["queued", "submitting", "running", "fetching"].includes(state);

  function noticeChanges() {
    const news = [];
    for (const card of document.querySelectorAll("#cards [data-card]")) {
      const id = card.dataset.card;
      const was = before.get(id);
      if (was === undefined && !before.has(id)) {
        if (id !== String(startedHere) && !card.hasAttribute("data-mine")) {
          const who = card.querySelector(".meta")?.textContent.split("·")[0].trim() || "";
          news.push("New generation " + who + ": " + card.querySelector(".model").textContent.trim() + ".");
        }
        continue;
      }
      if (isPending(was) && !isPending(card.dataset.state) && card.hasAttribute("data-mine")) {
        const ready = card.dataset.state === "succeeded";
        news.push((ready ? "Ready: " : "Finished without audio: ") + describe(card) + ".");
        if (document.hidden) finishedUnseen(card, ready);
      }
    }
    if (news.length) announce(news.join(" "));
  }

  function finishedUnseen(card, ready) {
    unseen += 1;
    document.title = "(" + unseen + ") " + title;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const notification = new Notification(ready ? "Ready: " + describe(card) : "A job ended without audio", {
      body: card.querySelector(".model")?.textContent.trim() || "",
      tag: card.id,
    });
    notification.onclick = () => {
      window.focus();
      const shown = document.getElementById(card.id);
      if (shown) {
        shown.scrollIntoView({ block: "center" });
        shown.focus({ preventScroll: true });
      }
      notification.close();
    };
  }

  // A card started from this page: in view, announced, focused, and followed at the quicker pace.
  // The event comes with the answer, just before htmx swaps the card in.
  document.addEventListener("card-started", (event) => {
    startedHere = event.detail.id;
    setTimeout(() => {
      removeRepeats();
      const card = document.getElementById("gen-" + startedHere);
      if (card) {
        card.scrollIntoView({ block: "nearest" });
        card.focus({ preventScroll: true });
        announce("Started: " + card.querySelector(".model").textContent.trim() + ". Its card is first in the list.");
      }
      replan(Date.now() + setting("refresh", 1500));
    }, 0);
  });

  // A dismissed card goes; focus goes to the card after it, or to the list's heading.
  let afterDismissed = null;
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!event.detail.elt.matches?.("form[data-dismiss]")) return;
    const card = event.detail.elt.closest("[data-card]");
    afterDismissed = card?.nextElementSibling || card?.previousElementSibling || null;
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    // Fired again on the list once the form's card is gone (htmx does so for removed elements).
    if (!event.detail.elt.matches?.("form[data-dismiss]") || document.body.contains(event.detail.elt)) return;
    const target = afterDismissed && document.body.contains(afterDismissed) ? afterDismissed : document.getElementById("jobs-heading");
    target?.focus();
  });

  // "Notify me when my jobs finish": asked for by a click, as browsers require.
  function offerNotifications() {
    const button = document.querySelector("[data-notify]");
    if (!button) return;
    button.hidden = !("Notification" in window) || Notification.permission !== "default";
    button.addEventListener("click", () => {
      Notification.requestPermission().then(() => { button.hidden = true; });
    });
  }

  function start() {
    if (!poller()) return;
    offerNotifications();
    plan(Date.now() + interval());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
