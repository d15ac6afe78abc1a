// Steady works without this file; it only adds two conveniences.
"use strict";

// Ask before a form marked data-confirm does something that cannot be undone.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Select a shown secret when it gets focus, ready to copy.
document.addEventListener("focusin", function (event) {
  var el = event.target;
  if (el.classList && el.classList.contains("secret")) {
    el.select();
  }
});
