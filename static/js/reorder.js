// Reordering a list by keyboard and by dragging (docs/keyboard.md). Without this script the
// lists keep their arrow buttons, which post one move at a time.
//
// A list marked data-reorder (with data-reorder-url) holds items marked data-reorder-item
// (with data-key and data-name), each with a handle button marked data-reorder-handle, which
// starts hidden and is shown here. On a handle:
//   - Alt+Arrow moves the item one place at once;
//   - Space or Enter picks it up, the arrow keys move it, Space or Enter drops it there,
//     Esc puts it back where it was;
//   - dragging it with a mouse, a pen or a finger moves it to where it is let go.
// Each new place is said in the live region, and the order is saved by posting the keys in
// their new order and in the order before the move (core/ordering.py): when someone else
// reordered meanwhile nothing is saved, and the list takes their order.
(function () {
  "use strict";

  var HELP_ID = "reorder-help";

  function say(text) {
    if (window.Throughline && window.Throughline.say) window.Throughline.say(text);
  }

  function csrfToken() {
    return window.Throughline.csrfToken();
  }

  function items(list) {
    return Array.prototype.filter.call(list.children, function (el) {
      return el.hasAttribute("data-reorder-item");
    });
  }

  function keys(list) {
    return items(list).map(function (el) { return el.dataset.key; });
  }

  function where(item) {
    var all = items(item.parentElement);
    return (item.dataset.name || "It") + ", " + (all.indexOf(item) + 1) + " of " + all.length;
  }

  // A list marked data-reorder-refresh="<selector>" draws parts that depend on the order
  // (the journey's curve joins each stage to its neighbours): once an order is saved, those
  // parts are read again from the page as the server now draws it and put in place by id.
  function refresh(list) {
    var selector = list.dataset.reorderRefresh;
    if (!selector) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        fresh.querySelectorAll(selector).forEach(function (part) {
          var old = part.id && document.getElementById(part.id);
          if (old) old.replaceWith(document.importNode(part, true));
        });
      })
      .catch(function () { /* the parts stay as drawn; a reload redraws them */ });
  }

  function handleOf(item) {
    return item.querySelector("[data-reorder-handle]");
  }

  // Moving a focused element out of the document blurs it: the handle is focused again.
  function place(item, before) {
    var list = item.parentElement;
    var focused = document.activeElement;
    moving = true;
    list.insertBefore(item, before);
    moving = false;
    if (focused && item.contains(focused)) focused.focus({ preventScroll: false });
  }

  function shift(item, step) {
    var all = items(item.parentElement);
    var index = all.indexOf(item);
    var to = index + step;
    if (to < 0 || to >= all.length) return false;
    place(item, step < 0 ? all[to] : all[to].nextSibling);
    return true;
  }

  function arrange(list, order) {
    var byKey = {};
    items(list).forEach(function (el) { byKey[el.dataset.key] = el; });
    var anchor = items(list)[0] || null;
    var sequence = order.map(function (key) { return byKey[key]; });
    if (sequence.some(function (el) { return !el; }) || sequence.length !== items(list).length) return false;
    // Put them back in the slots the items hold, keeping any other child where it is.
    var marker = document.createComment("");
    list.insertBefore(marker, anchor);
    sequence.forEach(function (el) { list.insertBefore(el, marker); });
    marker.remove();
    return true;
  }

  // --- saving -----------------------------------------------------------------------------

  function settled(list) {
    delete list.dataset.reorderBusy;
    var inHand = (held && held.item.parentElement === list) || (drag && drag.list === list);
    if (!inHand) list.removeAttribute("data-reordering");
  }

  function save(list, was, item) {
    var now = keys(list);
    if (now.join("\n") === was.join("\n")) return;
    if (list.dataset.reorderBusy) {
      // One save at a time; the next one starts from the order this one settles on.
      list._reorderNext = { item: item };
      return;
    }
    list.dataset.reorderBusy = "1";
    // Not redrawn by the plan's poll (static/js/cowriting.js) until the order is saved.
    list.setAttribute("data-reordering", "");
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    now.forEach(function (key) { body.append("order", key); });
    was.forEach(function (key) { body.append("was", key); });
    fetch(list.dataset.reorderUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    })
      .then(function (response) {
        if (response.redirected) {
          // Sent to the sign-in page: nothing was saved.
          return { status: 401, data: { message: "You are signed out: sign in, then move it again." } };
        }
        return response.json().then(function (data) { return { status: response.status, data: data }; },
          function () { return { status: response.ok ? 500 : response.status, data: {} }; });
      })
      .then(function (answer) {
        settled(list);
        var next = list._reorderNext;
        list._reorderNext = null;
        if (answer.status === 200) {
          say("Saved. " + where(item) + ".");
          refresh(list);
          if (next) save(list, now, next.item);
          return;
        }
        var message = answer.data.message || "The order could not be saved.";
        if (answer.status === 409 && answer.data.order && arrange(list, answer.data.order)) {
          say(message);
        } else {
          arrange(list, was);
          say(message + (answer.status === 409 ? " Reload the page to see it." : ""));
        }
      })
      .catch(function () {
        settled(list);
        list._reorderNext = null;
        arrange(list, was);
        say("The order could not be saved: no answer from Throughline. It is as it was.");
      });
  }

  // --- by keyboard --------------------------------------------------------------------------

  var held = null; // { item, was } while an item is picked up
  var moving = false;

  function pickUp(item) {
    held = { item: item, was: keys(item.parentElement) };
    item.classList.add("is-held");
    item.parentElement.setAttribute("data-reordering", "");
    handleOf(item).setAttribute("aria-pressed", "true");
    say("Picked up " + where(item) + ". Arrow keys move it, Space drops it, Esc puts it back.");
  }

  function letGo(keep) {
    if (!held) return;
    var item = held.item;
    var list = item.parentElement;
    var was = held.was;
    held = null;
    item.classList.remove("is-held");
    if (!list.dataset.reorderBusy) list.removeAttribute("data-reordering");
    handleOf(item).setAttribute("aria-pressed", "false");
    if (keep) {
      if (keys(list).join("\n") === was.join("\n")) say("Dropped. " + where(item) + ", where it was.");
      else save(list, was, item);
    } else {
      arrange(list, was);
      handleOf(item).focus();
      say("Put back. " + where(item) + ".");
    }
  }

  var EARLIER = { ArrowUp: true, ArrowLeft: true };
  var LATER = { ArrowDown: true, ArrowRight: true };

  document.addEventListener("keydown", function (event) {
    var handle = event.target.closest && event.target.closest("[data-reorder-handle]");
    if (!handle) return;
    var item = handle.closest("[data-reorder-item]");
    if (!item) return;
    var step = EARLIER[event.key] ? -1 : LATER[event.key] ? 1 : 0;
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      if (held && held.item === item) letGo(true);
      else pickUp(item);
      return;
    }
    if (event.key === "Escape" && held && held.item === item) {
      event.preventDefault();
      letGo(false);
      return;
    }
    if (!step) return;
    if (held && held.item === item) {
      event.preventDefault();
      say(shift(item, step) ? where(item) + "." : where(item) + ", already at the " + (step < 0 ? "start." : "end."));
    } else if (event.altKey) {
      event.preventDefault();
      var list = item.parentElement;
      var was = keys(list);
      if (shift(item, step)) save(list, was, item);
      else say(where(item) + ", already at the " + (step < 0 ? "start." : "end."));
    }
  });

  // Leaving a picked-up item (Tab, a click elsewhere) puts it back.
  document.addEventListener("focusout", function (event) {
    if (!held || moving || !held.item.contains(event.target)) return;
    window.setTimeout(function () {
      if (held && !held.item.contains(document.activeElement)) letGo(false);
    }, 0);
  });

  // --- by dragging --------------------------------------------------------------------------

  var drag = null; // { item, list, was, pointer }

  function itemAt(list, x, y) {
    var all = items(list);
    for (var i = 0; i < all.length; i++) {
      var box = all[i].getBoundingClientRect();
      if (x >= box.left && x <= box.right && y >= box.top && y <= box.bottom) return all[i];
    }
    return null;
  }

  document.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest("[data-reorder-handle]");
    if (!handle || event.button !== 0 || held) return;
    var item = handle.closest("[data-reorder-item]");
    if (!item) return;
    event.preventDefault();
    handle.focus({ preventScroll: true });
    drag = { item: item, list: item.parentElement, was: keys(item.parentElement), pointer: event.pointerId };
    try { handle.setPointerCapture(event.pointerId); } catch (error) { /* not captured: the document still hears it */ }
    item.classList.add("is-dragged");
    drag.list.setAttribute("data-reordering", "");
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    event.preventDefault();
    var over = itemAt(drag.list, event.clientX, event.clientY);
    if (!over || over === drag.item) return;
    var all = items(drag.list);
    var later = all.indexOf(over) > all.indexOf(drag.item);
    place(drag.item, later ? over.nextSibling : over);
  });

  function endDrag(event, keep) {
    if (!drag || event.pointerId !== drag.pointer) return;
    var done = drag;
    drag = null;
    done.item.classList.remove("is-dragged");
    if (!done.list.dataset.reorderBusy) done.list.removeAttribute("data-reordering");
    if (!keep) {
      arrange(done.list, done.was);
      return;
    }
    save(done.list, done.was, done.item);
  }

  document.addEventListener("pointerup", function (event) { endDrag(event, true); });
  document.addEventListener("pointercancel", function (event) { endDrag(event, false); });

  // --- the arrow buttons ----------------------------------------------------------------
  // They post one move and redraw the list; the focus stays on the button pressed, on the
  // item in its new place, and the place is said.

  var pressed = null;
  var moves = new WeakMap(); // each arrow's request: which item, which way

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-reorder-move] button[type=submit]");
    var item = button && button.closest("[data-reorder-item]");
    pressed = item ? { key: item.dataset.key, value: button.value } : null;
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (pressed && elt && elt.matches && elt.matches("[data-reorder-move]") && event.detail.xhr) {
      moves.set(event.detail.xhr, pressed);
    }
    pressed = null;
  });

  function shown(button) {
    return button.getClientRects().length > 0 && window.getComputedStyle(button).visibility !== "hidden";
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var done = event.detail.xhr && moves.get(event.detail.xhr);
    if (!done) return;
    moves.delete(event.detail.xhr);
    var item = Array.prototype.filter.call(document.querySelectorAll("[data-reorder-item]"), function (el) {
      return el.dataset.key === done.key;
    })[0];
    if (!item) return;
    var buttons = Array.prototype.filter.call(item.querySelectorAll("[data-reorder-move] button[type=submit]"), shown);
    var same = buttons.filter(function (b) { return b.value === done.value; })[0];
    var target = same || buttons[0] || handleOf(item);
    if (target) target.focus();
    say(where(item) + ".");
  });

  // --- showing the handles --------------------------------------------------------------

  function enhance(root) {
    if (!root.querySelectorAll) return;
    var handles = root.querySelectorAll("[data-reorder] [data-reorder-handle]");
    if (!handles.length) return;
    if (!document.getElementById(HELP_ID)) {
      var help = document.createElement("p");
      help.id = HELP_ID;
      help.className = "visually-hidden";
      help.textContent = "Drag to move it. Or press Space to pick it up, the arrow keys to move it and Space to drop it; Alt with an arrow key moves it one place at once.";
      (document.getElementById("main") || document.body).appendChild(help);
    }
    handles.forEach(function (handle) {
      handle.hidden = false;
      handle.setAttribute("aria-describedby", HELP_ID);
      handle.setAttribute("aria-pressed", "false");
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
