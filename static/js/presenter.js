// Presenter mode of a show-and-tell: → or Page Down for the next section, ← or Page Up for
// the previous (what a presentation clicker sends), Escape to leave. The page's Previous,
// Next and Leave links do the same without JavaScript.
(function () {
  "use strict";
  var NEXT = { ArrowRight: true, PageDown: true };
  var PREVIOUS = { ArrowLeft: true, PageUp: true };
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    // Leave modified keys to the browser, and ← → to a focused table that scrolls sideways.
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var scroller = event.target.closest && event.target.closest(".grid-scroll");
    if (scroller && scroller.scrollWidth > scroller.clientWidth && event.key.indexOf("Arrow") === 0) return;
    var box = document.querySelector(".presenter");
    if (!box) return;
    var target = null;
    if (NEXT[event.key]) target = box.dataset.next;
    if (PREVIOUS[event.key]) target = box.dataset.prev;
    if (event.key === "Escape" && box.dataset.leave) {
      event.preventDefault();
      window.location.assign(box.dataset.leave);
      return;
    }
    if (target) { event.preventDefault(); window.location.search = target.slice(1); }
  });
})();
