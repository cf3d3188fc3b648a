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

  document.addEventListener("htmx:sendError", showTrouble);
  document.addEventListener("htmx:responseError", showTrouble);
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) {
      clearTrouble();
    }
  });
})();
