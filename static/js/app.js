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
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
