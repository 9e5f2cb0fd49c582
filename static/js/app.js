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
})();
