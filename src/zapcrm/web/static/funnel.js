// The funnel board (contacts/funnel.html): a card dropped on another column moves the
// contact there. A drop only sets the card's own stage selector and fires its change, so a
// drag and a choice made without a mouse send the same request (htmx, with the CSRF header).
(function () {
  "use strict";

  var dragged = null;

  function column(target) {
    return target instanceof Element ? target.closest(".funnel-column") : null;
  }

  // A column the card's selector offers (not a removed stage's) and not the card's own.
  function accepts(col) {
    if (!dragged || !col) return false;
    var stage = col.getAttribute("data-stage");
    var offered = Array.prototype.some.call(dragged.querySelector("select.funnel-move").options,
      function (option) { return option.value === stage; });
    return offered && stage !== dragged.getAttribute("data-stage");
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target instanceof Element ? event.target.closest(".funnel-card") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".funnel-column.drop-target").forEach(function (col) {
      col.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var col = column(event.target);
    if (!accepts(col)) return;
    event.preventDefault(); // this column takes the card
    event.dataTransfer.dropEffect = "move";
    col.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var col = column(event.target);
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var col = column(event.target);
    if (!accepts(col)) return;
    event.preventDefault();
    col.classList.remove("drop-target");
    var select = dragged.querySelector("select.funnel-move");
    select.value = col.getAttribute("data-stage");
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
