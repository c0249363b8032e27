// The funnel board (contacts/funnel.html): a card dropped on another column moves the
// contact there. A drop only sets the card's own stage selector and fires its change, so a
// drag and a choice made without a mouse send the same request (htmx, with the CSRF header).
// Other people's changes reach the board live (below).
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

  // A card put at the top of its column (moved here, or changed elsewhere) may come again in
  // the column's next page, which follows the order the board first loaded in: the board
  // keeps the card it shows, so each contact is one card.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;
    if (!config || config.path.indexOf("/panel/contacts/funnel/cards") !== 0) return;
    var page = document.createElement("template");
    page.innerHTML = event.detail.serverResponse;
    page.content.querySelectorAll(".funnel-card").forEach(function (card) {
      if (document.getElementById(card.id)) card.remove();
    });
    event.detail.serverResponse = page.innerHTML;
  });

  // Live: the stream names each contact someone changed (`#funnel-live`, contact.* events).
  // Half a second's worth are read again in one request, under the reader's permissions and
  // the board's search and segment; its answer moves, adds or removes those cards and
  // refreshes the counts (out-of-band swaps).
  var changed = new Set();
  var timer = null;
  var LIVE_BATCH = 50; // web/pages/funnel.py LIVE_BATCH

  function scope() {
    return new URLSearchParams(new FormData(document.getElementById("funnel-scope")));
  }

  function readChanged() {
    timer = null;
    if (!changed.size || !window.htmx) return;
    var params = scope();
    Array.from(changed).slice(0, LIVE_BATCH).forEach(function (id) {
      params.append("contact", id);
      changed.delete(id);
    });
    window.htmx.ajax("GET", "/panel/contacts/funnel/live?" + params.toString(), {
      target: "#funnel-live", swap: "none"
    });
    if (changed.size) timer = window.setTimeout(readChanged, 500);
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    // detail.target is the element an out-of-band swap replaced: #funnel-live only when the
    // stream sent it. (The event itself also fires on a request's own target for every swap
    // of its answer, and the answers to the reads below target #funnel-live: checking the
    // event's target would read the same contact again and again.)
    var swapped = event.detail && event.detail.target;
    if (!(swapped instanceof Element) || swapped.id !== "funnel-live") return;
    var live = document.getElementById("funnel-live");
    if (!live) return;
    if (live.hasAttribute("data-reload")) {
      reloadBoard(); // an import ended, or a bulk change: too many people to read one by one
      return;
    }
    var id = live.getAttribute("data-contact");
    if (id) changed.add(id);
    if (!timer) timer = window.setTimeout(readChanged, 500);
  });

  // Changes made while the stream was closed (before it first opened, or while it
  // reconnected) never arrive: the board is read again, and morphed, each time it opens.
  function reloadBoard() {
    var area = document.getElementById("funnel-area");
    if (!area || !window.htmx) return;
    window.htmx.ajax("GET", area.getAttribute("data-refresh-url"), {
      target: area, select: "#funnel-area > *", swap: "morph:innerHTML"
    });
  }
  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail && event.detail.source;
    if (source) source.addEventListener("ready", reloadBoard, { once: true });
    else reloadBoard();
  });
})();
