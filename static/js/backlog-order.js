// Reorder the backlog by drag-and-drop (SortableJS, also on touch screens) or by keyboard on
// a row's handle: ArrowUp/ArrowDown move one place, Home/End to the top/bottom. Each move is
// posted with the row's own move form (so the server checks it exactly as without
// JavaScript), and the refreshed list comes back from the server.
(function () {
  "use strict";
  var KEYS = { ArrowUp: "up", ArrowDown: "down", Home: "top", End: "bottom" };
  var focusAfterSwap = null;

  function itemRow(node) {
    while (node && !(node.dataset && node.dataset.itemId)) {
      node = node.tagName === "TR" ? null : node.parentElement;
    }
    return node;
  }

  function sibling(row, direction) {
    var node = row[direction];
    while (node && !(node.dataset && node.dataset.itemId)) {
      node = node[direction];
    }
    return node;
  }

  function send(row, values) {
    var form = row.querySelector("form.move-form");
    if (!form) return;
    focusAfterSwap = row.dataset.itemId;
    values.shown = document.querySelectorAll("#backlog-rows tr[data-item-id]").length;
    htmx.ajax("POST", form.getAttribute("action"), {
      source: form,
      values: values,
      target: "#backlog-results",
      swap: "outerHTML",
    });
  }

  function init() {
    var tbody = document.querySelector("#backlog-rows[data-reorder]");
    if (!tbody || tbody.dataset.sortableReady) return;
    tbody.dataset.sortableReady = "1";
    Sortable.create(tbody, {
      handle: ".drag-handle",
      draggable: "tr[data-movable]", // open items only: closed ones have no rank
      forceFallback: true, // mouse and touch behave the same, and tests can drive it
      animation: 120,
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) return;
        var row = event.item;
        var before = sibling(row, "previousElementSibling");
        var after = sibling(row, "nextElementSibling");
        send(row, {
          to: "between",
          before_id: before ? before.dataset.itemId : "",
          after_id: after ? after.dataset.itemId : "",
        });
      },
    });
    tbody.addEventListener("keydown", function (event) {
      var handle = event.target.closest(".drag-handle");
      var to = KEYS[event.key];
      if (!handle || !to || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      send(itemRow(handle), { to: to });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSwap", function () {
    init();
    if (focusAfterSwap) {
      var handle = document.querySelector(
        '#backlog-rows tr[data-item-id="' + focusAfterSwap + '"] .drag-handle'
      );
      if (handle) handle.focus();
      focusAfterSwap = null;
    }
  });
})();
