// Steady works without this file; it only adds conveniences.
"use strict";

// Ask before a form marked data-confirm does something that cannot be undone.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// In a part of a form marked data-enter-clicks="ID" (such as "Try it" on a
// rule), Enter in a field presses the button ID rather than the form's first
// button, so that trying a sample event does not save the rule. The form is
// submitted on keydown; a keypress that still follows (some browsers and
// tools send it anyway) must not submit it a second time with the first
// button.
(function () {
  function enterButton(event) {
    var el = event.target;
    if (event.key !== "Enter" || !el || el.tagName !== "INPUT" || !el.closest) {
      return null;
    }
    var box = el.closest("[data-enter-clicks]");
    return box && document.getElementById(box.getAttribute("data-enter-clicks"));
  }
  document.addEventListener("keydown", function (event) {
    var button = !event.defaultPrevented && enterButton(event);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
  document.addEventListener("keypress", function (event) {
    if (enterButton(event)) {
      event.preventDefault();
    }
  });
})();

// Select a shown secret when it gets focus, ready to copy.
document.addEventListener("focusin", function (event) {
  var el = event.target;
  if (el.classList && el.classList.contains("secret")) {
    el.select();
  }
});

// Keep a list current: an element with data-refresh="URL" is replaced every
// ten seconds by the fragment at URL. It waits while the tab is hidden or
// the user is typing or has focus inside the list, and tells screen readers
// politely when the rows change. Without this script the page is a plain
// page with a Reload link.
(function () {
  var box = document.querySelector("[data-refresh]");
  if (!box || !window.fetch || !document.createElement("template").content) {
    return;
  }
  var url = box.getAttribute("data-refresh");
  var live = document.getElementById(box.getAttribute("data-refresh-status"));
  var label = document.querySelector("[data-live-label]");
  var every = 10000;
  var typedAt = 0;
  var lastHTML = null;
  var timer = null;
  var stopped = false;

  if (label) {
    label.textContent = "Updates every 10 seconds.";
  }
  document.addEventListener("input", function () { typedAt = Date.now(); });
  document.addEventListener("keydown", function () { typedAt = Date.now(); });

  function busy() {
    var el = document.activeElement;
    if (document.hidden || Date.now() - typedAt < 5000) {
      return true;
    }
    if (el && el !== document.body && box.contains(el)) {
      return true;
    }
    return !!(el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function sigOf(root) {
    return root && root.getAttribute("data-sig");
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(tick, every);
  }

  function stop(text) {
    stopped = true;
    clearTimeout(timer);
    if (label) {
      label.textContent = text;
    }
  }

  function tick() {
    if (busy()) {
      schedule();
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (res) {
      if (res.redirected || res.status === 401 || res.status === 403) {
        stop("Updates stopped: sign in again and reload the page.");
        return;
      }
      if (!res.ok) {
        throw new Error("status " + res.status);
      }
      return res.text().then(function (html) {
        var t = document.createElement("template");
        t.innerHTML = html;
        var fresh = t.content.firstElementChild;
        if (!fresh || !fresh.classList.contains("incident-table") || busy()) {
          return;
        }
        var old = box.firstElementChild;
        var changed = sigOf(fresh) !== sigOf(old);
        if (html !== lastHTML) {
          box.replaceChildren(t.content);
          lastHTML = html;
        }
        if (changed) {
          var now = new Date().toISOString().slice(11, 19) + " UTC";
          var n = fresh.getAttribute("data-count");
          if (label) {
            label.textContent = "Updates every 10 seconds; last change at " + now + ".";
          }
          if (live) {
            live.textContent = "The incident list changed: " + n + (n === "1" ? " incident" : " incidents") + " shown.";
          }
        }
      });
    }).catch(function () {
      if (label) {
        label.textContent = "Could not update the list; trying again.";
      }
    }).then(function () {
      if (!stopped) {
        schedule();
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !stopped) {
      tick();
    }
  });
  schedule();
})();

// On a phone, filters that are not in use fold away behind their summary
// (on a wider screen the summary is hidden and they show).
(function () {
  if (!window.matchMedia) {
    return;
  }
  var narrow = window.matchMedia("(max-width: 44rem)");
  function fold() {
    var boxes = document.querySelectorAll("details[data-collapse-narrow]:not([data-active])");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].open = !narrow.matches;
    }
  }
  fold();
  if (narrow.addEventListener) {
    narrow.addEventListener("change", fold);
  }
})();
