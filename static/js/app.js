// Small htmx glue for every page. Lives here rather than in hx-on or "js:" attributes,
// which need eval and are refused by the Content-Security-Policy.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    // The backlog list refreshes itself after a change (itemsChanged): say how many rows
    // were on screen, so the refreshed list can show as many.
    if (event.detail.elt && event.detail.elt.id === "backlog-results") {
      event.detail.parameters.shown = document.querySelectorAll(
        "#backlog-rows tr[data-item-id]"
      ).length;
    }
  });
  // Tools folded into a disclosure on a phone (the backlog's filters) start open on a wide
  // screen. The script is deferred: the document is parsed by now.
  if (window.matchMedia("(min-width: 40.0625rem)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) {
      details.open = true;
    });
  }
  // A refused move answers 400 with the current list and the reason: show both (htmx
  // swaps only 2xx responses by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.id === "backlog-results") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
