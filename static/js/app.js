// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function enhance(root) {
    // Selects marked data-autosubmit submit their form on change; the button stays for
    // keyboard and no-script users and is hidden once this script runs.
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.enhanced) return;
      select.dataset.enhanced = "1";
      select.addEventListener("change", function () { select.form.requestSubmit(); });
      select.form.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
    });
    // Buttons marked data-print open the browser's print dialog (print.css lays the page
    // out). They start hidden: without this script the browser's own Print still works.
    root.querySelectorAll("button[data-print]").forEach(function (button) {
      if (button.dataset.enhanced) return;
      button.dataset.enhanced = "1";
      button.addEventListener("click", function () { window.print(); });
      button.hidden = false;
    });
    // Buttons marked data-copy="<input id>" copy that field's text and say so in the status
    // beside them. They start hidden: without this script the field can still be selected.
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.enhanced) return;
      button.dataset.enhanced = "1";
      var field = document.getElementById(button.dataset.copy);
      var status = button.parentElement.querySelector(".copy-status");
      if (!field) return;
      function said(text) { if (status) status.textContent = text; }
      button.addEventListener("click", function () {
        var done = function () { said("Copied."); };
        var fallback = function () {
          field.focus();
          field.select();
          said(document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.");
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, fallback);
        } else {
          fallback();
        }
      });
      button.hidden = false;
    });
    // A sideways-scrolling region marked data-scroll-cue="<id of its words>": its frame
    // (data-scroll-frame) learns which sides have more to see, for the fading edges, and the
    // words show while anything is out of sight. Without this script the region still scrolls.
    root.querySelectorAll("[data-scroll-cue]").forEach(function (region) {
      if (region.dataset.enhanced) return;
      region.dataset.enhanced = "1";
      var frame = region.closest("[data-scroll-frame]") || region.parentElement;
      function update() {
        var cue = document.getElementById(region.dataset.scrollCue);
        var left = region.scrollLeft > 1;
        var right = region.scrollLeft + region.clientWidth < region.scrollWidth - 1;
        frame.toggleAttribute("data-more-left", left);
        frame.toggleAttribute("data-more-right", right);
        if (cue) cue.hidden = !right;
      }
      region.addEventListener("scroll", update, {passive: true});
      // Home and End go to the first and the last of it (the arrows scroll a step).
      region.addEventListener("keydown", function (event) {
        if (event.target !== region || (event.key !== "Home" && event.key !== "End")) return;
        event.preventDefault();
        region.scrollTo({left: event.key === "Home" ? 0 : region.scrollWidth});
      });
      if (window.ResizeObserver) {
        var watcher = new ResizeObserver(update);
        watcher.observe(region);
        Array.prototype.forEach.call(region.children, function (child) { watcher.observe(child); });
      }
      update();
    });
  }

  // A link to something inside a closed <details> (a mention's link to its comment, in a
  // collapsed thread) opens the details around it and brings it into view.
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    var opened = false;
    for (var el = target.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS" && !el.open) { el.open = true; opened = true; }
    }
    if (opened) target.scrollIntoView({block: "center"});
  }

  // On a phone the navigation folds behind its Menu button. The button starts hidden and the
  // menu shown, so without this script every link stays on the page; app.css hides the
  // button on wider screens, where the menu is always shown.
  function foldNavigation() {
    var button = document.querySelector(".nav-toggle");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    function opened(open) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
    opened(false);
    button.hidden = false;
    button.addEventListener("click", function () {
      opened(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      var inside = menu.contains(document.activeElement) || document.activeElement === button;
      if (event.key !== "Escape" || !inside || button.getAttribute("aria-expanded") !== "true") return;
      if (window.getComputedStyle(button).display === "none") return;
      opened(false);
      button.focus();
    });
  }

  // Filter forms (<details data-fold-narrow>, open in the page) fold away on a phone, where
  // they would fill the first screen, unless they show an error; wider, they stay open and
  // app.css hides their summary.
  var narrow = window.matchMedia("(max-width: 760px)");
  function foldFilters(root) {
    root.querySelectorAll("details[data-fold-narrow]").forEach(function (details) {
      details.open = !narrow.matches || Boolean(details.querySelector(".errorlist"));
    });
  }
  narrow.addEventListener("change", function () { foldFilters(document); });

  foldNavigation();
  foldFilters(document);
  // The CSRF token htmx sends (base.html puts it in the body's hx-headers), for the scripts
  // that post with fetch (static/js/reorder.js, static/js/cowriting.js).
  window.Throughline = window.Throughline || {};
  window.Throughline.csrfToken = function () {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  };

  document.addEventListener("DOMContentLoaded", function () { enhance(document); reveal(); });
  window.addEventListener("hashchange", reveal);
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
