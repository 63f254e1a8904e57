// Co-writing a plan (docs/cowriting.md): others' saved changes appear without a reload and
// without touching anything being edited here; who is editing what shows beside each part.
// The page works without this script: saving a stale version still shows the conflict view.
(function () {
  "use strict";

  var VISIBLE_EVERY = 2000; // ms between polls while the tab is in view
  var HIDDEN_EVERY = 30000; // and while it is hidden
  var PRESENCE_EVERY = 10000; // an open editor renews its presence this often

  var live = document.getElementById("plan-live");
  if (!live || !window.fetch) return;

  var etag = live.dataset.etag || "";
  var timer = null;
  var inFlight = false;
  var forceNext = false;

  function csrfToken() {
    return window.Throughline.csrfToken();
  }

  // --- applying what the server sends -------------------------------------------------

  function editing(el) {
    return el.hasAttribute("data-editing");
  }

  function busy(el) {
    // Something here is being typed into: a form opened for editing, or a comment draft;
    // or a list in it is being put in order (static/js/reorder.js).
    if (editing(el) || el.querySelector("[data-editing]")) return true;
    if (el.matches("[data-reordering]") || el.querySelector("[data-reordering]")) return true;
    var fields = el.querySelectorAll("textarea, input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) return true;
      if (fields[i] === document.activeElement) return true;
    }
    return false;
  }

  var FOCUSABLE = "a[href], button, summary, input, select, textarea, [tabindex]";

  // Where the focus is inside `el`, so it can go to the same place in what replaces it: the
  // keyboard never falls back to the top of the page because someone else saved.
  function focusPlace(el) {
    var active = document.activeElement;
    if (!active || active === document.body || !el.contains(active)) return null;
    if (active.id) return { id: active.id };
    var all = Array.prototype.slice.call(el.querySelectorAll(FOCUSABLE));
    return { index: all.indexOf(active), text: active.textContent };
  }

  function refocus(fresh, place) {
    if (!place) return;
    var target = place.id ? document.getElementById(place.id) : null;
    if (!target && place.index >= 0) {
      var candidate = fresh.querySelectorAll(FOCUSABLE)[place.index];
      if (candidate && candidate.textContent === place.text) target = candidate;
    }
    if (!target) {
      target = fresh.querySelector("h2, h3") || fresh;
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: true });
  }

  function replace(el, html) {
    var place = focusPlace(el);
    var open = [];
    el.querySelectorAll("details[open][id]").forEach(function (d) { open.push(d.id); });
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (!fresh) return;
    el.replaceWith(fresh);
    open.forEach(function (id) {
      var d = document.getElementById(id);
      if (d) d.open = true;
    });
    if (window.htmx) window.htmx.process(fresh);
    refocus(fresh, place);
  }

  function showIncoming(el, part) {
    var slot = el.querySelector("[data-incoming]");
    if (!slot || !part.incoming || slot.dataset.version === part.version) return;
    slot.innerHTML = part.incoming;
    slot.dataset.version = part.version;
    slot.hidden = false;
  }

  // When this page last drew each part from its own request (a save, an open, a cancel):
  // a poll asked before then may carry the part as it was before this page's own save, and
  // drawing that would put back what was just replaced, for a poll's time, and take the
  // element htmx is still settling out of the page.
  var drawnAt = {};

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    var now = performance.now();
    var el = (target.id && document.getElementById(target.id)) || target;
    var outer = el.closest ? el.closest("[data-part]") : null;
    if (outer && outer.id) drawnAt[outer.id] = now;
    if (el.querySelectorAll) {
      el.querySelectorAll("[data-part][id]").forEach(function (part) { drawnAt[part.id] = now; });
    }
  });

  function applyPart(part, asked) {
    var el = document.getElementById(part.id);
    if (!el || el.dataset.version === part.version) return;
    if ((drawnAt[part.id] || -1) >= asked) return; // drawn here since: the next poll tells
    if (editing(el)) {
      showIncoming(el, part);
    } else if (!busy(el)) {
      replace(el, part.html);
    }
    // A list with something open inside stays; its own parts are updated one by one.
  }

  function showPresence(people) {
    var byPart = {};
    people.forEach(function (person) {
      (byPart[person.part] = byPart[person.part] || []).push(person.name);
    });
    document.querySelectorAll("[data-presence-for]").forEach(function (badge) {
      var names = byPart[badge.dataset.presenceFor] || [];
      badge.hidden = names.length === 0;
      badge.textContent = names.length === 1 ? names[0] + " is editing"
        : names.length ? names.slice(0, -1).join(", ") + " and " + names[names.length - 1] + " are editing"
        : "";
    });
    var bar = document.getElementById("plan-presence");
    if (!bar) return;
    bar.textContent = "";
    people.forEach(function (person) {
      var item = document.createElement("span");
      item.className = "presence-bar__item";
      item.textContent = person.text;
      bar.appendChild(item);
    });
    bar.hidden = people.length === 0;
  }

  function apply(data, asked) {
    if (data.parts) data.parts.forEach(function (part) { applyPart(part, asked); });
    if (data.presence) showPresence(data.presence);
    if (data.token) {
      var url = new URL(live.dataset.liveUrl, window.location.href);
      url.searchParams.set("t", data.token);
      live.dataset.liveUrl = url.pathname + url.search;
    }
    etag = data.etag || etag;
  }

  // --- polling --------------------------------------------------------------------------

  function pollUrl(force) {
    var url = new URL(live.dataset.liveUrl, window.location.href);
    url.searchParams.set("since", force ? "" : etag);
    var initiatives = document.getElementById("initiatives");
    if (initiatives && initiatives.dataset.view) url.searchParams.set("view", initiatives.dataset.view);
    document.querySelectorAll("[data-part][data-editing]").forEach(function (el) {
      url.searchParams.append("editing", el.id);
    });
    return url.pathname + url.search;
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, delay);
  }

  function poll() {
    if (inFlight) return;
    inFlight = true;
    var force = forceNext;
    forceNext = false;
    var asked = performance.now();
    fetch(pollUrl(force), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 204 || response.status === 304) return null;
        if (response.status === 401) throw new Error("signed out");
        if (!response.ok) return null;
        return response.json();
      })
      .then(function (data) {
        if (data) apply(data, asked);
        inFlight = false;
        schedule(document.hidden ? HIDDEN_EVERY : VISIBLE_EVERY);
      })
      .catch(function (error) {
        inFlight = false;
        if (error && error.message === "signed out") return; // the next page load signs in
        schedule(document.hidden ? HIDDEN_EVERY : VISIBLE_EVERY * 2);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) schedule(0);
  });

  // After this page saves or opens something, draw what others changed meanwhile around it.
  document.body.addEventListener("htmx:afterSettle", function () {
    forceNext = true;
    schedule(300);
    announce();
  });

  // --- presence -------------------------------------------------------------------------

  var presenceUrl = live.dataset.presenceUrl;
  var announced = null;
  var announcedAt = 0;

  function openPart() {
    var open = document.querySelectorAll("[data-part][data-editing], #new-initiative[data-editing]");
    if (!open.length) return null;
    for (var i = 0; i < open.length; i++) {
      if (open[i].contains(document.activeElement)) return open[i].id;
    }
    return open[0].id;
  }

  function send(fields, beacon) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon(presenceUrl, body);
      return;
    }
    fetch(presenceUrl, { method: "POST", body: body, credentials: "same-origin" }).catch(function () {});
  }

  function announce() {
    if (!presenceUrl) return;
    var part = openPart();
    var now = Date.now();
    if (part && (part !== announced || now - announcedAt >= PRESENCE_EVERY - 500)) {
      send({ part: part, state: "editing" });
      announced = part;
      announcedAt = now;
    } else if (!part && announced) {
      send({ state: "left" });
      announced = null;
    }
  }

  if (presenceUrl) {
    window.setInterval(announce, PRESENCE_EVERY);
    document.addEventListener("focusin", announce);
    window.addEventListener("pagehide", function () {
      if (announced) send({ state: "left" }, true);
      announced = null;
    });
  }

  announce();
  schedule(0);
})();
