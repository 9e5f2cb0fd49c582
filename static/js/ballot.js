// The ranked ballot: drag items between "Your ranking" and "Not ranked" (SortableJS, also
// on touch), or use the handle's keys. The position inputs are the ballot itself: without
// JavaScript a voter types them; with it they are renumbered after every move.
(function () {
  "use strict";
  var ranked, unranked, status;

  function items(list) {
    return Array.prototype.slice.call(list.querySelectorAll(".ballot-item"));
  }

  function title(item) {
    return item.querySelector(".ballot-title").textContent;
  }

  function renumber() {
    items(ranked).forEach(function (item, index) {
      item.querySelector(".rank-input").value = index + 1;
    });
    items(unranked).forEach(function (item) {
      item.querySelector(".rank-input").value = "";
    });
  }

  function announce(item) {
    var inRanking = item.parentElement === ranked;
    status.textContent = inRanking
      ? title(item) + " is number " + (items(ranked).indexOf(item) + 1) + " of " + items(ranked).length + "."
      : title(item) + " is not ranked.";
  }

  function onKey(event) {
    var handle = event.target.closest(".drag-handle");
    if (!handle) return;
    var item = handle.closest(".ballot-item");
    var list = item.parentElement;
    var moved = true;
    if (event.key === "ArrowUp" && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling);
    } else if (event.key === "ArrowDown" && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item);
    } else if (event.key === "Home") {
      list.insertBefore(item, list.firstElementChild);
    } else if (event.key === "End") {
      list.appendChild(item);
    } else if (event.key === "ArrowRight" && list === unranked) {
      ranked.appendChild(item);
    } else if (event.key === "ArrowLeft" && list === ranked) {
      unranked.insertBefore(item, unranked.firstElementChild);
    } else {
      moved = false;
    }
    if (moved) {
      event.preventDefault();
      renumber();
      handle.focus();
      announce(item);
    }
  }

  function dotsCounter() {
    var inputs = document.querySelectorAll(".dots-input");
    var left = document.getElementById("dots-left");
    if (!inputs.length || !left) return;
    var budget = parseInt(document.querySelector("#dots-help strong").textContent, 10);
    function update() {
      var spent = 0;
      inputs.forEach(function (input) { spent += parseInt(input.value || "0", 10) || 0; });
      left.textContent = spent <= budget
        ? (budget - spent) + " left."
        : "Over budget by " + (spent - budget) + ".";
    }
    inputs.forEach(function (input) { input.addEventListener("input", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    dotsCounter();
    ranked = document.getElementById("ranked-list");
    unranked = document.getElementById("unranked-list");
    status = document.getElementById("ballot-status");
    if (!ranked || !unranked) return;
    var options = {
      group: "ballot",
      handle: ".drag-handle",
      forceFallback: true,
      animation: 120,
      onEnd: function (event) {
        renumber();
        announce(event.item);
      },
    };
    Sortable.create(ranked, options);
    Sortable.create(unranked, options);
    ranked.addEventListener("keydown", onKey);
    unranked.addEventListener("keydown", onKey);
  });
})();
