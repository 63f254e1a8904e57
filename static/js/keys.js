// Editing in place by keyboard (docs/keyboard.md). Every page works without this script.
//
// An inline editor is a form with `hx-post` that holds a [data-cancel] link (or is marked
// data-edit-form). In one:
//   - opening it puts the focus in its first field, with the caret after the text;
//   - Ctrl+Enter or Cmd+Enter saves (its primary button, as if clicked);
//   - Esc cancels; when something typed would be lost, the first Esc only says so and a
//     second Esc discards it (a conflict view or a form with errors always counts as typed);
//   - after saving or cancelling, the focus goes back to the part (its Edit button, else its
//     heading), and the outcome is said in a polite live region: "Saved.", the conflict's
//     message, or that the form has errors.
(function () {
  "use strict";

  var FIELDS = "textarea, select, input:not([type=hidden]):not([type=submit]):not([type=button])";
  var UNSAVED = ".conflict, .saved-version, .errorlist, input[name=draft]";

  // --- saying what happened -------------------------------------------------------------

  var status = null;
  var sayTimer = null;

  function statusRegion() {
    if (status && status.isConnected) return status;
    status = document.createElement("div");
    status.id = "keys-status";
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    (document.getElementById("main") || document.body).appendChild(status);
    return status;
  }

  function say(text) {
    var region = statusRegion();
    // Emptied first, so the same words said twice are read twice.
    region.textContent = "";
    window.clearTimeout(sayTimer);
    sayTimer = window.setTimeout(function () { region.textContent = text; }, 60);
  }

  // The other scripts say what they did here too (static/js/reorder.js).
  window.Throughline = window.Throughline || {};
  window.Throughline.say = say;

  // --- which forms are editors ----------------------------------------------------------

  function isEditor(form) {
    return !!form && form.tagName === "FORM" && form.hasAttribute("hx-post") &&
      (form.hasAttribute("data-edit-form") || !!form.querySelector("[data-cancel]"));
  }

  function editorIn(root) {
    if (!root || !root.querySelectorAll) return null;
    if (isEditor(root)) return root;
    var forms = root.querySelectorAll("form[hx-post]");
    for (var i = 0; i < forms.length; i++) {
      if (isEditor(forms[i]) && !forms[i].hasAttribute("data-edit-form")) return forms[i];
    }
    return null;
  }

  function visible(el) {
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  }

  function firstField(form) {
    var invalid = form.querySelector("[aria-invalid=true]");
    if (invalid && visible(invalid)) return invalid;
    var fields = form.querySelectorAll(FIELDS);
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].disabled && !fields[i].readOnly && visible(fields[i])) return fields[i];
    }
    return null;
  }

  function caretAtEnd(field) {
    field.focus();
    if (typeof field.value !== "string") return;
    var end = field.value.length;
    try {
      field.setSelectionRange(end, end);
    } catch (error) {
      // number, date and the like have no caret to place
    }
    if (field.tagName === "TEXTAREA") field.scrollTop = field.scrollHeight;
  }

  function changed(form) {
    if (form.querySelector(UNSAVED)) return true;
    var fields = form.querySelectorAll(FIELDS);
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        for (var j = 0; j < field.options.length; j++) {
          if (field.options[j].selected !== field.options[j].defaultSelected) return true;
        }
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function primaryButton(form) {
    return form.querySelector("button[type=submit].btn-primary, input[type=submit].btn-primary") ||
      form.querySelector("button[type=submit]:not([formnovalidate]), input[type=submit]");
  }

  // --- where the focus goes back to -----------------------------------------------------

  function heading(part) {
    return part.querySelector("h1, h2, h3, h4, h5, [data-focus-heading]");
  }

  function depth(el, root) {
    var n = 0;
    for (; el && el !== root; el = el.parentElement) n++;
    return n;
  }

  // The part's own Edit button: the shallowest, not one of a smaller part inside it.
  function editButton(part) {
    var best = null;
    part.querySelectorAll("[data-edit]").forEach(function (el) {
      if (!best || depth(el, part) < depth(best, part)) best = el;
    });
    return best;
  }

  function focusPart(part) {
    if (!part) return;
    var target = editButton(part) || part.querySelector("summary") || heading(part);
    if (!target) {
      target = part;
    }
    if (!target.matches("a[href], button, summary, input, textarea, select, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  // --- keys -----------------------------------------------------------------------------

  function hint(form, text) {
    var note = form.querySelector(".edit-keys__hint");
    if (!note) {
      note = document.createElement("p");
      note.className = "edit-keys__hint";
      var actions = form.querySelector(".form-actions");
      if (actions) actions.parentNode.insertBefore(note, actions);
      else form.appendChild(note);
    }
    note.textContent = text;
    say(text);
  }

  function clearHint(form) {
    form.removeAttribute("data-discard-armed");
    var note = form.querySelector(".edit-keys__hint");
    if (note) note.remove();
  }

  document.addEventListener("keydown", function (event) {
    var form = event.target && event.target.closest ? event.target.closest("form") : null;
    if (!isEditor(form)) return;
    // htmx wires a swapped-in editor's links and buttons only as the swap settles, while the
    // field has its focus at once: a key pressed in between would follow the bare link (or
    // post the whole page). Wiring it now is harmless: htmx does each element once.
    if (window.htmx) window.htmx.process(form);
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
      var button = primaryButton(form);
      if (!button) return;
      event.preventDefault();
      button.click();
      return;
    }
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    var cancel = form.querySelector("[data-cancel]");
    // A form folded into a <details> (a new journey) has no Cancel: Esc folds it again.
    var fold = !cancel && form.closest("details[open]");
    if (!cancel && !fold) return;
    event.preventDefault();
    if (changed(form) && !form.hasAttribute("data-discard-armed")) {
      form.setAttribute("data-discard-armed", "");
      hint(form, "You have unsaved changes. Press Esc again to discard them, or Ctrl+Enter to save.");
      return;
    }
    clearHint(form);
    if (cancel) {
      cancel.click();
      return;
    }
    form.reset();
    fold.open = false;
    var summary = fold.querySelector("summary");
    if (summary) summary.focus();
    say("Cancelled. Nothing was saved.");
  });

  // Typing again after the warning takes it back: the next Esc warns again.
  document.addEventListener("input", function (event) {
    var form = event.target && event.target.closest ? event.target.closest("form") : null;
    if (form && form.hasAttribute("data-discard-armed")) clearHint(form);
  });

  // --- around each swap -----------------------------------------------------------------

  var requests = new WeakMap(); // each request's kind, by its XMLHttpRequest

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var target = event.detail.target;
    if (!elt || !target || !event.detail.xhr) return;
    var kind = null;
    if (isEditor(elt)) kind = "save";
    else if (elt.hasAttribute("data-cancel")) kind = "cancel";
    else if (elt.tagName === "A" && elt.hasAttribute("hx-get")) kind = "open";
    if (!kind) return;
    var inner = elt.parentElement && elt.parentElement.closest("[id]");
    requests.set(event.detail.xhr, {
      kind: kind,
      id: target.id,
      // The part inside the target the form or link belonged to (a moment in its stage).
      inner: inner ? inner.id : "",
      saved: elt.getAttribute("data-saved-message") || "Saved.",
    });
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var request = event.detail.xhr && requests.get(event.detail.xhr);
    if (!request) return;
    requests.delete(event.detail.xhr);
    var part = (request.id && document.getElementById(request.id)) || event.detail.target;
    if (!part || !part.isConnected) return;
    if (request.kind === "open") {
      var editor = editorIn(part);
      var field = editor && firstField(editor);
      if (!field) {
        // A question with nothing to type (remove this?): the focus goes to its safe
        // answer, so Esc (or Enter) keeps what is there.
        var keep = editor && editor.querySelector("[data-cancel]");
        if (keep && !editor.contains(document.activeElement)) keep.focus();
        return;
      }
      // The editor settles a moment after it appears, and the person may be at work in it
      // already: a field they chose, words they typed or selected keep their focus and caret.
      var active = document.activeElement;
      if (active && active !== field && editor.contains(active)) return;
      if (active === field && (field.value !== field.defaultValue ||
          field.selectionStart !== field.selectionEnd)) return;
      caretAtEnd(field);
      return;
    }
    if (request.kind === "save") {
      var problem = part.querySelector(UNSAVED);
      var form = problem && problem.closest("form");
      if (form) {
        // Not saved: a conflict or errors. Say why, and put the caret where to act.
        var why = form.querySelector(".conflict__title, [role=alert], .errorlist");
        say(why ? why.textContent.replace(/\s+/g, " ").trim() : "Not saved: see the form.");
        var first = firstField(form);
        if (first) caretAtEnd(first);
        return;
      }
      say(request.saved);
    } else {
      say("Cancelled. Nothing was saved.");
    }
    // The server may name where the focus goes: the item a form added (core.http.focus_after).
    var named = event.detail.xhr.getResponseHeader("X-Focus");
    var added = named && document.getElementById(named);
    if (added) {
      focusPart(added);
      return;
    }
    var inner = request.inner && document.getElementById(request.inner);
    focusPart(inner && part.contains(inner) ? inner : part);
  });
})();
