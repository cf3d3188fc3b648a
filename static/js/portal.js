/* Cloud Portal: the little script the pages need (htmx does the rest).
   CSP allows no inline script, so behaviour lives here, attached by event. */
(function () {
  "use strict";

  function statusBox() {
    return document.getElementById("connection-status");
  }

  // A poll or a filter that cannot reach the server says so, instead of showing
  // a page that silently stopped updating.
  function showTrouble() {
    var box = statusBox();
    if (box && !box.textContent) {
      box.textContent = box.dataset.message || "";
    }
  }

  function clearTrouble() {
    var box = statusBox();
    if (box) {
      box.textContent = "";
    }
  }

  // Arriving at #changes-ready (after Save, or a fix of a reason group) puts the focus
  // on that warning, so a screen reader says it and Tab goes on to its Retry button.
  function focusArrival() {
    var id = window.location.hash.slice(1);
    var target = id && document.getElementById(id);
    if (target && target.hasAttribute("data-focus-on-arrival")) {
      target.focus();
    } else {
      var refused = document.querySelector("[data-focus-on-arrival][role=alert]");
      if (refused) {
        refused.focus();
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusArrival);
  } else {
    focusArrival();
  }

  document.addEventListener("htmx:sendError", showTrouble);
  document.addEventListener("htmx:responseError", showTrouble);
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) {
      clearTrouble();
    }
  });
})();
