/* zapcrm panel behaviour: the few things htmx attributes cannot express.
   Kept small and dependency-free; loaded after htmx (defer keeps document order). */
(function () {
  "use strict";

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function messages() { return document.getElementById("messages"); }

  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 120; }

  function scrollToBottom() {
    var box = messages();
    if (box) box.scrollTop = box.scrollHeight;
  }

  function composer() { return document.getElementById("composer"); }

  // A chat opened at a search hit: mark that message (again after each reload of the chat);
  // true when it is on the page.
  function markHit() {
    var box = messages();
    var hit = box && box.getAttribute("data-hit") && document.getElementById(box.getAttribute("data-hit"));
    if (hit) hit.classList.add("hit");
    return Boolean(hit);
  }

  function prepareComposer() {
    var form = composer();
    if (!form) return;
    // One key per message typed: a double click or a retried request creates one message.
    form.elements.idempotency_key.value = newKey();
  }

  function clearReply(form) {
    form.elements.quoted_message_id.value = "";
    var bar = form.querySelector(".replying");
    if (bar) bar.hidden = true;
  }

  // Suggestions over the composer. Quick replies by shortcut: while the composer holds only
  // "/" and the start of a shortcut, the matching ones are listed; taking one fills it for the
  // chat (like the menu), never sends. Colleagues for a note: after "@" and the start of a name
  // (accents and case ignored), taking one writes "@Firstname", which the note's mention
  // matches. Arrows move, Enter or Tab take the highlighted one, Escape closes.
  var SUGGEST_LIMIT = 6;
  function suggestList() { return document.getElementById("composer-suggest"); }
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function shortcutMatches(text) {
    var select = document.getElementById("quick-reply");
    var typed = /^\/\S*$/.test(text) ? text.toLowerCase() : null;
    if (!select || typed === null) return [];
    return Array.prototype.filter.call(select.options, function (option) {
      var shortcut = (option.getAttribute("data-shortcut") || "").toLowerCase();
      return option.value && shortcut.indexOf(typed) === 0;
    }).map(function (option) {
      return { label: option.textContent, quickReply: option.value };
    });
  }

  function mentionMatches(textarea) {
    var before = textarea.value.slice(0, textarea.selectionStart);
    var typed = /(?:^|\s)@([^\s@]{0,30})$/.exec(before);
    var select = document.querySelector("#chat-header select[name=assignee]");
    if (!typed || !select) return [];
    var wanted = fold(typed[1]);
    return Array.prototype.filter.call(select.options, function (option) {
      return option.value && fold(option.textContent).split(/\s+/).some(function (word) {
        return word.indexOf(wanted) === 0;
      });
    }).map(function (option) {
      var first = option.textContent.trim().split(/\s+/)[0];
      return { label: option.textContent.trim(), insert: "@" + first, replace: typed[1].length + 1 };
    });
  }

  function showSuggestions(textarea) {
    var list = suggestList();
    if (!list) return;
    var matches = shortcutMatches(textarea.value);
    if (!matches.length) matches = mentionMatches(textarea);
    list.textContent = "";
    matches.slice(0, SUGGEST_LIMIT).forEach(function (match, index) {
      var item = document.createElement("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === 0 ? "true" : "false");
      if (match.quickReply) item.setAttribute("data-quick-reply-id", match.quickReply);
      if (match.insert) {
        item.setAttribute("data-insert", match.insert);
        item.setAttribute("data-replace", String(match.replace));
      }
      item.textContent = match.label;
      list.appendChild(item);
    });
    list.hidden = matches.length === 0;
  }

  function takeSuggestion(item) {
    var list = suggestList();
    if (list) list.hidden = true;
    var form = composer();
    if (!item || !form) return;
    var textarea = form.elements.text;
    if (item.hasAttribute("data-insert")) {
      var caret = textarea.selectionStart;
      var start = caret - Number(item.getAttribute("data-replace"));
      var insert = item.getAttribute("data-insert") + " ";
      textarea.value = textarea.value.slice(0, start) + insert + textarea.value.slice(caret);
      textarea.selectionStart = textarea.selectionEnd = start + insert.length;
      textarea.focus();
      return;
    }
    var select = document.getElementById("quick-reply");
    if (!select) return;
    select.value = item.getAttribute("data-quick-reply-id");
    fillQuickReply(select);
  }

  function suggestionKeydown(event) {
    var list = suggestList();
    if (!list || list.hidden) return false;
    var items = Array.prototype.slice.call(list.children);
    var current = items.findIndex(function (item) {
      return item.getAttribute("aria-selected") === "true";
    });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var next = (current + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach(function (item, index) {
        item.setAttribute("aria-selected", index === next ? "true" : "false");
      });
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      takeSuggestion(items[Math.max(current, 0)]);
    } else if (event.key === "Escape") {
      list.hidden = true;
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.id === "composer-text") {
      showSuggestions(target);
    }
  });
  document.addEventListener("mousedown", function (event) {
    var item = event.target instanceof Element && event.target.closest("#composer-suggest li");
    if (!item) return;
    event.preventDefault();  // keep the composer's focus
    takeSuggestion(item);
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLTextAreaElement) || !target.hasAttribute("data-enter-sends")) return;
    if (event.isComposing || suggestionKeydown(event)) return;
    // Enter sends, Shift+Enter breaks the line; never interrupt an IME composition.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (target.value.trim() && target.form) target.form.requestSubmit();
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var reply = target.closest("[data-reply-id]");
    var form = composer();
    if (reply && form) {
      form.elements.quoted_message_id.value = reply.getAttribute("data-reply-id");
      var bar = form.querySelector(".replying");
      bar.querySelector(".replying-text").textContent = reply.getAttribute("data-reply-text") || "";
      bar.hidden = false;
      form.elements.text.focus();
      return;
    }
    if (target.closest(".cancel-reply") && form) clearReply(form);
    if (target.closest("[data-cancel-attach]") && attachForm()) closeAttach(attachForm());
    var remover = target.closest("[data-remove-closest]");
    if (remover) {
      var doomed = remover.closest(remover.getAttribute("data-remove-closest"));
      if (doomed) doomed.remove();
    }
  });

  // A quick reply fills the composer with its text (variables filled for this chat), to be
  // read and adjusted before sending: it never sends by itself.
  function fillQuickReply(select) {
    var form = composer();
    var meta = document.body.getAttribute("hx-headers");
    if (!select.value || !form || !meta) return;
    fetch(select.getAttribute("data-quick-reply-url") + encodeURIComponent(select.value), {
      method: "POST",
      headers: JSON.parse(meta),
      credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (text) {
      form.elements.text.value = text;
      form.elements.text.focus();
      select.value = "";
    }).catch(function () { select.value = ""; });
  }

  // Attachments: the kind follows the file (an audio file goes as a voice note, which takes no
  // caption); the server still reads the bytes to decide what the file really is.
  function attachForm() { return document.getElementById("attach"); }

  function closeAttach(form) {
    form.reset();
    form.hidden = true;
    form.querySelector(".attach-name").textContent = "";
  }

  function prepareAttach(input) {
    var form = attachForm();
    var file = input.files && input.files[0];
    if (!form || !file) return;
    var type = file.type || "";
    var kind = type.indexOf("image/") === 0 ? "image"
      : type.indexOf("video/") === 0 ? "video"
      : type.indexOf("audio/") === 0 ? "audio" : "document";
    form.elements.type.value = kind;
    form.elements.caption.disabled = kind === "audio";
    form.querySelector(".attach-name").textContent = file.name;
    form.hidden = false;
    form.elements.caption.focus();
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.id === "attach-file") {
      prepareAttach(target);
      return;
    }
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-quick-reply-url")) {
      fillQuickReply(target);
      return;
    }
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
      return;
    }
    // Reports: typing a date means "between these dates"; a preset period would ignore it.
    if (target instanceof HTMLInputElement && target.type === "date" && target.form &&
        target.form.elements.namedItem("period") instanceof HTMLSelectElement) {
      target.form.elements.namedItem("period").value = "custom";
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var attach = attachForm();
    if (attach && event.detail.elt === attach && event.detail.successful) {
      closeAttach(attach);
      scrollToBottom();
      watchTicks(true);
    }
    var elt = event.detail.elt;
    if (event.detail.successful && elt instanceof Element && elt !== messages() &&
        elt.closest("#messages")) {
      watchTicks(true); // a failed send retried from its bubble (not the chat's own reload)
    }
    var form = composer();
    if (form && elt instanceof Element && elt.closest("#composer") === form && event.detail.successful) {
      form.reset();
      clearReply(form);
      prepareComposer();
      scrollToBottom();
      form.elements.text.focus();
      watchTicks(true);
    }
  });

  // The composer's answer (the new bubble) and the live "created" event race each other: the
  // live one always replaces, so an answer whose bubble is already on the page is dropped
  // instead of adding a stale duplicate that later status updates would never reach.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = composer();
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!form || !(elt instanceof Element)) return;
    if (elt.closest("#composer") !== form && elt.id !== "attach") return;
    var match = /id="((?:msg|note)-[0-9a-f-]{36})"/.exec(event.detail.serverResponse || "");
    if (match && document.getElementById(match[1])) event.detail.shouldSwap = false;
  });

  // Live events come from several worker batches at once, so they can arrive out of order.
  // Rows, headers and bubbles carry their row's data-version: the page keeps the higher one.
  function version(elt) { return Number(elt.getAttribute("data-version")) || 0; }

  // Messages folded away (the gateway's echo of our own send): a late "created" event for one
  // must not draw it again.
  var gone = new Set();
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var data = event.detail && event.detail.data;
    if (typeof data !== "string" || data.indexOf("data-gone") < 0) return;
    var found, pattern = /data-gone="([\w-]+)"/g;
    while ((found = pattern.exec(data))) gone.add(found[1]);
  });

  // A live change (a tick, an edit, a deletion) of a bubble older than the pages loaded in the
  // chat has nothing on the page to land on, and htmx would log oobErrorNoTarget for it. The
  // inbox's stream (inbox/_list.html live_stream) drops such fragments before they are
  // swapped; the bubble, once its page is loaded, comes from the database with the change.
  // New bubbles name their target (beforeend:#messages) and are always kept.
  function withoutAbsentBubbles(html) {
    if (typeof html !== "string" || html.indexOf("hx-swap-oob") < 0) return html;
    var template = document.createElement("template");
    template.innerHTML = html;
    var dropped = false;
    template.content.querySelectorAll("[id][hx-swap-oob]").forEach(function (fragment) {
      if (!/^(msg|note)-/.test(fragment.id) || fragment.getAttribute("hx-swap-oob").indexOf(":") >= 0) return;
      if (document.getElementById(fragment.id)) return;
      if (olderLoading) missLive(fragment);
      fragment.remove();
      dropped = true;
    });
    return dropped ? template.innerHTML : html;
  }
  if (window.htmx) {
    window.htmx.defineExtension("live-bubbles", {
      transformResponse: function (text) { return withoutAbsentBubbles(text); }
    });
  }

  function versioned(fragment) {
    if (!fragment) return null;
    if (fragment instanceof Element && fragment.hasAttribute("data-version")) return fragment;
    return fragment.querySelector("[id][data-version]");
  }

  var stickToBottom = true;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var box = messages();
    stickToBottom = !box || nearBottom(box);
    var detail = event.detail;
    var incoming = versioned(detail.fragment);
    if (!incoming || !incoming.id) return;
    if (gone.has(incoming.id)) { detail.shouldSwap = false; return; }
    var existing = document.getElementById(incoming.id);
    if (incoming.hasAttribute("data-row-gone")) {
      // A row leaving the list (inbox/_list.html row_gone): removed when the page shows it
      // and it is not newer; nothing is inserted.
      detail.shouldSwap = false;
      if (incoming.hasAttribute("data-out-of-sight")) chatLeft(incoming);
      if (existing && version(existing) > version(incoming)) return;
      if (existing) existing.remove();
      rowChangedLive(incoming);
      return;
    }
    if (!existing) {
      // A row new to the page (a chat's first message): a list reload on its way was read
      // before it, and its answer must not take the row out again.
      rowChangedLive(incoming);
      return;
    }
    if (existing === incoming) return;
    if (detail.target === existing) {
      // A replacement or removal of this very element: only when not older than the page's.
      if (version(existing) > version(incoming)) detail.shouldSwap = false;
    } else if (version(existing) >= version(incoming)) {
      detail.shouldSwap = false; // an insertion of what the page already shows (or newer)
    } else {
      existing.remove(); // a newer copy inserted elsewhere (a row moving to the top)
    }
    if (detail.shouldSwap) rowChangedLive(incoming);
    if (detail.shouldSwap && existing.id === "chat-header" && detail.target === existing) {
      morphHeader(existing, incoming);
      detail.shouldSwap = false;
    }
  });

  // The chat on screen left the reader's sight (a colleague took it, a department they do not
  // work in got it): its pane is asked to say so, with what the composer held, instead of
  // offering a reply and actions that could only fail. Not for a change older than the
  // header on the page; the server answers nothing while the reader still sees the chat.
  // The reader's own transfer takes the chat out of their sight too, and its answer says where
  // the chat went: while an action of the header is on its way, the question waits for it,
  // and an answer that replaced the pane meanwhile is not replaced by this vaguer one.
  var headerBusy = 0, leftWaiting = null;
  function chatLeft(gone) {
    var box = messages(), header = document.getElementById("chat-header");
    var id = gone.id.replace(/^conv-/, "");
    if (!box || box.getAttribute("data-conversation") !== id || !window.htmx) return;
    if (header && version(header) > version(gone)) return;
    if (headerBusy) { leftWaiting = gone; return; }
    var text = document.getElementById("composer-text");
    window.htmx.ajax("POST", "/panel/conversations/" + id + "/left", {
      source: box, target: ".chat-pane", swap: "innerHTML", values: { text: text ? text.value : "" }
    });
  }
  function inHeader(event) {
    var elt = event.detail.elt;
    return elt instanceof Element && elt.closest("#chat-header") !== null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (inHeader(event)) headerBusy += 1;
  });
  // By the request's own element: htmx tells of a request whose element its answer removed
  // (the header replaced by the pane) on an element still on the page.
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    var elt = config && config.elt;
    if (!(elt instanceof Element) || elt.closest("#chat-header") === null) return;
    headerBusy = Math.max(0, headerBusy - 1);
    if (!headerBusy && leftWaiting) {
      var gone = leftWaiting;
      leftWaiting = null;
      chatLeft(gone);
    }
  });

  // A live copy of the chat header is morphed into the one on the page (idiomorph) instead of
  // replacing it: its buttons stay the same elements, so a click pressed just as a colleague's
  // change arrives reaches its button (a replaced header lost it), and an open menu (snooze,
  // transfer, download) stays open.
  function morphHeader(existing, incoming) {
    var open = Array.prototype.map.call(existing.querySelectorAll("details[id][open]"), function (menu) {
      return menu.id;
    });
    var picked = pickedChoices(existing);
    Idiomorph.morph(existing, incoming);
    restoreChoices(existing, picked);
    htmx.process(existing);
    open.forEach(function (id) {
      var after = document.getElementById(id);
      if (after && existing.contains(after)) after.open = true;
    });
  }
  // An action's answer for the header (Assumir, Encerrar, Transferir...) is morphed in like a
  // live copy, and dropped when the page already shows that version or a newer one: the live
  // copy of the same change often lands first, and swapping the header for the answer then
  // dropped a click pressed on it meanwhile. (Listens before rememberSnooze below, which then
  // sees the swap called off.)
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var existing = detail.target;
    if (!detail.shouldSwap || !existing || existing.id !== "chat-header") return;
    if (typeof detail.serverResponse !== "string") return;
    var template = document.createElement("template");
    template.innerHTML = detail.serverResponse;
    var incoming = template.content.firstElementChild;
    if (!incoming || incoming.id !== "chat-header" || template.content.children.length !== 1) return;
    detail.shouldSwap = false;
    if (version(existing) > version(incoming)) return;
    morphHeader(existing, incoming);
  });
  // The header's menus open one at a time (they drop over each other), and Escape closes the
  // open one, giving the focus back to its button.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.open || !menu.closest("#chat-header")) return;
    menu.closest("#chat-header").querySelectorAll("details[open]").forEach(function (other) {
      if (other !== menu) other.open = false;
    });
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !(event.target instanceof Element)) return;
    var menu = event.target.closest("#chat-header details[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  // What the user chose in the header and has not sent yet (a colleague to transfer to, a
  // department, a snooze time typed) survives a live copy: the copy carries the server's
  // selection, and morphing it in would put the select back between the choice and the
  // press of "Transferir", which then transferred to nobody new.
  function pickedChoices(root) {
    var picked = [];
    root.querySelectorAll("select[name], input[name]:not([type=hidden])").forEach(function (field) {
      if (field.tagName === "SELECT") {
        var initial = Array.prototype.find.call(field.options, function (option) {
          return option.defaultSelected;
        }) || field.options[0];
        if (initial && field.value !== initial.value) picked.push([field, field.value]);
      } else if (field.type !== "checkbox" && field.type !== "radio" && field.value !== field.defaultValue) {
        picked.push([field, field.value]);
      }
    });
    return picked;
  }
  function restoreChoices(root, picked) {
    picked.forEach(function (pair) {
      var field = pair[0];
      if (!root.contains(field)) return; // gone from the new copy
      if (field.tagName === "SELECT") {
        var still = Array.prototype.some.call(field.options, function (option) {
          return option.value === pair[1];
        });
        if (still) field.value = pair[1];
      } else {
        field.value = pair[1];
      }
    });
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var list = event.detail.target; // for a row inserted at the top: the list
    var row = list && list.id === "conversation-list" ? list.firstElementChild : null;
    if (row && row.classList.contains("conv")) placeRow(row);
    if (list && (list.id === "conversation-list" || /^conv-/.test(list.id))) countsChanged();
    if (list && list.id === "messages") {
      dropRepeatedDays();
      var appended = list.querySelectorAll(":scope > .bubble");
      if (appended.length) placeBubble(appended[appended.length - 1]);
    }
    if (stickToBottom) scrollToBottom();
  });

  // The inbox tabs' counts: fetched again at most once a second, after the last of a burst
  // of live changes has had that second to arrive.
  var countsTimer = null;
  function countsChanged() {
    if (countsTimer || !window.htmx) return;
    countsTimer = window.setTimeout(function () {
      countsTimer = null;
      window.htmx.trigger(document.body, "queue-counts");
    }, 1000);
  }

  // Day separators, one per day (inbox/_chat.html day_separator): an older page ends on the
  // day the page after it begins with, and a bubble added at the end brings its own day's
  // separator for when the day changed since the one before. A separator repeating the
  // previous one goes.
  function dropRepeatedDays() {
    var box = messages();
    if (!box) return;
    var last = null;
    box.querySelectorAll(":scope > .day[data-day]").forEach(function (day) {
      var value = day.getAttribute("data-day");
      if (value === last) day.remove();
      else last = value;
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === messages()) dropRepeatedDays();
  });

  // The older page goes in above what the reader is looking at, which stays where it was:
  // by the time the page arrives the reader has often scrolled to the very top, where the
  // browser's own scroll anchoring does nothing, and the chat jumped to the page's first
  // message. Live changes of bubbles that were not on the page while the older page was on
  // its way (withoutAbsentBubbles dropped them) are applied to it afterwards when newer than
  // what it drew: it may have been read before them.
  // (htmx names the loader as the target of each of its events; its swap replaces it.)
  var olderLoading = false, fromBottom = null, missedLive = new Map();
  function isOlderLoad(event) {
    var target = event.detail.target;
    return target instanceof Element && target.id === "older";
  }
  function isDeletion(fragment) { return fragment.getAttribute("hx-swap-oob") === "delete"; }
  function missLive(fragment) {
    var kept = missedLive.get(fragment.id);
    if (kept && (isDeletion(kept) || version(kept) > version(fragment))) return;
    missedLive.set(fragment.id, fragment.cloneNode(true));
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isOlderLoad(event)) { olderLoading = true; missedLive = new Map(); }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var box = messages();
    if (box && isOlderLoad(event)) fromBottom = box.scrollHeight - box.scrollTop;
  });
  // After the swap (htmx:afterSwap comes once per element the page brought).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isOlderLoad(event)) return;
    var box = messages();
    olderLoading = false;
    if (box && event.detail.successful) {
      dropRepeatedDays();
      dropRepeatedBubbles(box);
      if (fromBottom !== null) box.scrollTop = box.scrollHeight - fromBottom;
      missedLive.forEach(function (fragment, id) {
        var shownNow = document.getElementById(id);
        if (!shownNow || !box.contains(shownNow)) return;
        if (isDeletion(fragment)) shownNow.remove();
        else if (version(fragment) > version(shownNow)) {
          fragment.removeAttribute("hx-swap-oob");
          shownNow.replaceWith(fragment);
          if (window.htmx) window.htmx.process(fragment);
        }
      });
    }
    fromBottom = null;
    missedLive = new Map();
  });

  // A live message is appended at the end, but events from parallel worker batches can come
  // out of order (a customer's burst within one second): the new bubble moves up past those
  // that come after it in the server's order (time, then id; ids are time-ordered), so the
  // chat reads as a reload would draw it. It never crosses a day separator.
  function bubbleKey(elt) {
    var time = elt.querySelector("time[datetime]");
    return [(time && Date.parse(time.getAttribute("datetime"))) || 0, elt.id];
  }
  function comesAfter(a, b) { return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]); }
  // A message that reached the page live but belongs before its oldest loaded bubble (stored
  // late, or WhatsApp delivering an old one) also comes with the older page: only one stays,
  // where the older page put it, the newer of the two copies.
  function dropRepeatedBubbles(box) {
    var seen = new Map();
    box.querySelectorAll(":scope > .bubble[id]").forEach(function (bubble) {
      var first = seen.get(bubble.id);
      if (!first) { seen.set(bubble.id, bubble); return; }
      if (version(bubble) > version(first)) first.replaceWith(bubble);
      else bubble.remove();
    });
  }
  function placeBubble(bubble) {
    var box = messages(), oldest = box && box.querySelector(":scope > .bubble");
    if (!olderLoading && oldest && oldest !== bubble && document.getElementById("older")
        && comesAfter(bubbleKey(oldest), bubbleKey(bubble))) {
      // Older than every loaded bubble while older ones are still to load: they bring it.
      // (One arriving while the older page is on its way stays: that page may have been read
      // before it was stored; dropRepeatedBubbles keeps one copy if it has not.)
      var before = bubble.previousElementSibling, after = bubble.nextElementSibling;
      bubble.remove();
      while (after && !after.classList.contains("bubble") && !after.classList.contains("day")) {
        after = after.nextElementSibling;
      }
      if (before && before.classList.contains("day") && (!after || after.classList.contains("day"))) {
        before.remove(); // its day's separator, with nothing under it now
      }
      return;
    }
    var key = bubbleKey(bubble), first = null;
    for (var prev = bubble.previousElementSibling; prev; prev = prev.previousElementSibling) {
      if (prev.classList.contains("day")) break;
      if (!prev.classList.contains("bubble")) continue; // read markers, the older-page loader
      if (!comesAfter(bubbleKey(prev), key)) break;
      first = prev;
    }
    if (first) first.parentNode.insertBefore(bubble, first);
  }

  // A live row arrives at the top of the list; it belongs where its last message puts it (the
  // server's order), or a receipt or an assignment in an older chat would lift it above newer
  // ones. A row older than every loaded one leaves: the next page brings it.
  function rowTime(row) {
    var time = row.querySelector("time[datetime]");
    return (time && Date.parse(time.getAttribute("datetime"))) || 0;
  }
  function placeRow(row) {
    var list = row.parentElement, at = rowTime(row), next = row.nextElementSibling;
    while (next && next.classList.contains("conv") && rowTime(next) > at) {
      next = next.nextElementSibling;
    }
    if (next && next.classList.contains("more")) row.remove();
    else if (next !== row.nextElementSibling) list.insertBefore(row, next);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var toast = document.getElementById("toast");
    if (toast && event.detail.target === toast) {
      window.setTimeout(function () { toast.textContent = ""; }, 6000);
    }
  });

  // After htmx's settle step, which gives a reloaded bubble its own class attribute back.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target === messages()) markHit();
  });

  // The chat's latest messages again, keeping any bubble a live event made newer meanwhile.
  // Sent from the box itself: htmx runs one request at a time per element (keeping only the
  // newest one waiting), and htmx.ajax without a source sends from document.body, as the
  // list's and the home page's reloads do. From there this reload waited for any of those on
  // its way: a slow list answer held the chat's ticks, and the watchTicks reloads, as long.
  var shown = null, shownDays = null;
  function refreshMessages(box) {
    var stick = nearBottom(box);
    window.htmx.ajax("GET", box.getAttribute("data-refresh-url"), {
      source: box, target: box, swap: "innerHTML", headers: { "HX-Target": "messages" }
    }).then(function () {
      if (stick) scrollToBottom();
    });
  }
  // A live stream can go away without a word (a proxy or network dropping it quietly), and an
  // event can come late: while one of our messages has not reached the customer's phone (queued, pending,
  // on the server), the chat is read again now and then, backing off to every two minutes.
  // Only while the reader is at the bottom: a reload would drop the older pages they opened.
  var UNSETTLED = ".bubble.out .tick-queued, .bubble.out .tick-pending, .bubble.out .tick-server_ack";
  var settleTimer = null;
  var settleDelay = 4000;
  function watchTicks(fromStart) {
    if (fromStart) settleDelay = 4000;
    if (settleTimer) window.clearTimeout(settleTimer);
    settleTimer = window.setTimeout(function () {
      settleTimer = null;
      var box = messages();
      if (!box || !box.hasAttribute("data-refresh-url") || !box.querySelector(UNSETTLED)) return;
      if (!document.hidden && nearBottom(box)) refreshMessages(box);
      settleDelay = Math.min(settleDelay * 2, 120000);
      watchTicks(false);
    }, settleDelay);
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var box = messages();
    // Only the reload (a GET into the box): the composer's POST answers land there too, and
    // one it drops (see above) would leave this snapshot behind for a later swap.
    if (!box || event.detail.target !== box || !event.detail.requestConfig) return;
    if (event.detail.requestConfig.verb !== "get") return;
    shown = new Map();
    shownDays = new Map();
    box.querySelectorAll("[id][data-version]").forEach(function (elt) {
      shown.set(elt.id, elt);
      var day = elt.previousElementSibling;
      while (day && !day.matches(".day[data-day]")) day = day.previousElementSibling;
      if (day) shownDays.set(elt.id, day);
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = messages();
    if (!shown || !box || event.detail.target !== box) return;
    box.querySelectorAll("[id][data-version]").forEach(function (elt) {
      var before = shown.get(elt.id);
      if (gone.has(elt.id)) elt.remove();
      else if (before && version(before) > version(elt)) elt.replaceWith(before);
    });
    // What arrived while the reload was on its way (a message just sent) is not in its answer:
    // keep it when it is not older than the newest message the answer has.
    var newest = 0;
    box.querySelectorAll(".bubble time[datetime]").forEach(function (time) {
      newest = Math.max(newest, Date.parse(time.getAttribute("datetime")) || 0);
    });
    // With its day's separator when the day changed since the answer's last message (a
    // customer writing after midnight while the reload was on its way).
    shown.forEach(function (elt, id) {
      if (document.getElementById(id) || gone.has(id)) return;
      var time = elt.querySelector("time[datetime]");
      if (!time || (Date.parse(time.getAttribute("datetime")) || 0) < newest) return;
      var day = shownDays.get(id), days = box.querySelectorAll(":scope > .day[data-day]");
      var last = days.length ? days[days.length - 1].getAttribute("data-day") : null;
      if (day && day.getAttribute("data-day") !== last) box.appendChild(day.cloneNode(true));
      box.appendChild(elt);
    });
    shown = shownDays = null;
  });

  // The list's reload was read before the live events that arrive while it is on its way: a
  // row they changed (moved up, counted a new message, took out of the list) keeps its live
  // state when that is newer than the answer's copy. Without this, the last events of a burst
  // would be undone by the reload their own stream's opening started, with nothing to follow.
  var liveRows = null; // row id -> the version live events gave it during the reload
  // row id -> a copy of the live row (null: taken out) as the answer comes in: a copy, as the
  // morph turns the row itself into the answer's.
  var liveCopies = null;
  function rowChangedLive(incoming) {
    if (!liveRows || !/^conv-/.test(incoming.id)) return;
    liveRows.set(incoming.id, Math.max(liveRows.get(incoming.id) || 0, version(incoming)));
  }
  function isListReload(event) {
    // reloadShown's request, not a search typed meanwhile (its rows answer another question).
    var config = event.detail.requestConfig, list = event.detail.target;
    return list && list.id === "conversation-list" && config && config.verb === "get" &&
      config.path === list.getAttribute("data-refresh-url");
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!liveRows || !isListReload(event)) return;
    liveCopies = new Map();
    liveRows.forEach(function (_, id) {
      var live = document.getElementById(id);
      liveCopies.set(id, live && live.cloneNode(true));
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!liveCopies || !isListReload(event)) return;
    var list = event.detail.target;
    liveCopies.forEach(function (live, id) {
      var answer = document.getElementById(id);
      if (answer && version(answer) >= liveRows.get(id)) return;
      if (!live) {
        if (answer) answer.remove();
        return;
      }
      // The row on the page stays (the list is morphed, see below), given its live state back.
      if (answer && window.Idiomorph) window.Idiomorph.morph(answer, live);
      else if (answer) answer.remove();
      var row = document.getElementById(id) || live;
      list.insertBefore(row, list.firstChild);
      placeRow(row);
    });
    liveRows = liveCopies = null;
  });

  // The list's reloads and searches morph the rows on the page into the answer's
  // (`morph:innerHTML`, by idiomorph) instead of replacing them: a click whose press lands on
  // a row before the swap and its release after it would otherwise reach no link, as the
  // row's link is a new element by then (seen right after a page's load, when the stream's
  // opening reloads the list). The swap is bound here rather than by idiomorph's own htmx
  // extension, which claims every other swap style as inline too: an out-of-band
  // "afterbegin:#conversation-list" would then insert its <ul> wrapper instead of the row
  // (bigskysoftware/idiomorph#148).
  if (window.htmx && window.Idiomorph) {
    window.htmx.defineExtension("morph", {
      handleSwap: function (swapStyle, target, fragment) {
        if (swapStyle !== "morph:innerHTML") return false;
        return window.Idiomorph.morph(target, fragment.children, { morphStyle: "innerHTML" });
      }
    });
  }
  // The next page's loader is not kept: one of the list being replaced, perhaps loading
  // already, must not become the new list's.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var list = event.detail.target;
    if (!list || list.id !== "conversation-list" || !event.detail.requestConfig) return;
    if (event.detail.requestConfig.verb !== "get" || !event.detail.shouldSwap) return;
    list.querySelectorAll(":scope > .more").forEach(function (more) { more.remove(); });
  });

  // Home: an event says something of the reader's changed; its sections are read again,
  // at most once every two seconds however many events come.
  var homeTimer = null;
  function reloadHome() {
    var grid = document.getElementById("home-grid");
    if (!grid || homeTimer || !window.htmx) return;
    homeTimer = window.setTimeout(function () {
      homeTimer = null;
      window.htmx.ajax("GET", grid.getAttribute("data-refresh-url"), {
        target: grid, swap: "innerHTML", headers: { "HX-Target": "home-grid" }
      });
    }, 2000);
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "home-live") reloadHome();
  });

  // Events that happened while the stream was closed (before it first opened, or during a
  // reconnect) never arrive: reload what the page shows each time it opens. Not at `open`
  // itself: the server subscribes to the company's events after the headers go out and says
  // `ready` once it has, so a reload at `open` could read the page before an event that the
  // stream then never carries.
  // A search typed in the inbox renews its live stream with the search (inbox/_list.html
  // live_stream): the list's reloads, when that stream opens and after, ask the same question.
  document.addEventListener("htmx:load", function (event) {
    var live = event.detail && event.detail.elt;
    var list = document.getElementById("conversation-list");
    if (list && live instanceof Element && live.id === "inbox-live") {
      list.setAttribute("data-refresh-url", live.getAttribute("data-list-url"));
    }
  });
  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail && event.detail.source;
    if (source) source.addEventListener("ready", reloadShown, { once: true });
    else reloadShown();
  });
  function reloadShown() {
    if (!window.htmx) return;
    var list = document.getElementById("conversation-list");
    if (list) {
      liveRows = new Map();
      window.htmx.ajax("GET", list.getAttribute("data-refresh-url"), {
        target: list, swap: "morph:innerHTML", headers: { "HX-Target": "conversation-list" }
      });
      countsChanged();
    }
    var box = messages();
    if (box && box.hasAttribute("data-refresh-url")) refreshMessages(box);
    reloadHome();
    var progress = document.getElementById("import-progress");
    if (progress) {
      window.htmx.ajax("GET", progress.getAttribute("data-refresh-url"), {
        target: progress, swap: "outerHTML"
      });
    }
    // Task changes missed meanwhile: the badge (any page) and the tasks list (its page). The
    // first time, the list says what it drew (data-shown) and the server answers 204 when that
    // is still it: a reload that changes nothing would replace the row a click is landing on.
    if (document.getElementById("task-badge")) window.htmx.trigger(document.body, "tasks-changed");
    var filters = document.getElementById("task-filters");
    var tasks = document.getElementById("task-list");
    if (filters && tasks) {
      var query = new URLSearchParams(new FormData(filters));
      if (tasks.hasAttribute("data-shown")) query.set("shown", tasks.getAttribute("data-shown"));
      tasks.removeAttribute("data-shown"); // later reconnects: the list may have changed since
      window.htmx.ajax("GET", "/panel/tasks/list?" + query.toString(), {
        target: "#task-list", swap: "innerHTML"
      });
    }
  }

  // "Hoje", "Ontem" and the list's times are written for the day the page was drawn: a panel
  // left open past midnight (in the company's time zone, body's data-zone) reads again what
  // it shows once the day has turned, as after a reconnect.
  function companyDay() {
    var zone = document.body.getAttribute("data-zone");
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: zone || undefined }).format(new Date());
    } catch (error) {
      return new Date().toDateString(); // an unknown zone: the browser's own day
    }
  }
  var shownDay = null;
  function checkDay() {
    var today = companyDay();
    if (shownDay !== null && today !== shownDay) reloadShown();
    shownDay = today;
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.body.hasAttribute("data-zone")) return;
    checkDay();
    window.setInterval(checkDay, 60000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) checkDay();
    });
  });

  // The chat header re-renders live (a status, an assignee changed): an open snooze menu
  // stays open through it. A choice sent closes the menu first, so its own answer does not
  // reopen it. (hx-preserve lost the menu when a live swap met a request's swap.)
  var snoozeOpen = false;
  function rememberSnooze(event) {
    if (event.detail.shouldSwap === false) return; // morphed live (morphHeader), or dropped
    var target = event.detail.target;
    if (target && target.id === "chat-header") {
      var menu = target.querySelector("details.snooze");
      snoozeOpen = !!(menu && menu.open);
    }
  }
  function restoreSnooze() {
    var header = document.getElementById("chat-header");
    var menu = header ? header.querySelector("details.snooze") : null;
    if (snoozeOpen && menu) menu.open = true;
    snoozeOpen = false;
  }
  document.addEventListener("htmx:beforeSwap", rememberSnooze);
  document.addEventListener("htmx:oobBeforeSwap", rememberSnooze);
  document.addEventListener("htmx:afterSwap", restoreSnooze);
  document.addEventListener("htmx:oobAfterSwap", restoreSnooze);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var menu = elt && elt.closest ? elt.closest("details.snooze") : null;
    if (menu) menu.open = false;
  });

  // Upload progress for the import form. htmx reports the progress of every request, uploads
  // and downloads alike, so only the form's own request moves the bar: the page's other
  // requests (the recent imports refreshing) used to fill it before anything was sent.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = document.getElementById("upload-progress");
    if (!bar || !event.detail.lengthComputable) return;
    var form = bar.closest("form");
    if (!form || !form.contains(event.target)) return;
    bar.hidden = false;
    bar.value = (event.detail.loaded / event.detail.total) * 100;
  });

  // The value of an "Etapa do funil" condition offers the company's stages, and the operator
  // list only what the chosen field takes (the builder's data-operators, by field): "contém"
  // makes no sense for a stage or a date, and the server would refuse it.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches(".condition select[name=field]")) return;
    var condition = select.closest(".condition");
    var value = condition.querySelector("input[name=value]");
    if (select.value === "stage") value.setAttribute("list", "stage-options");
    else value.removeAttribute("list");
    var builder = condition.closest("[data-operators]");
    var allowed = (builder ? JSON.parse(builder.getAttribute("data-operators")) : {})[select.value];
    if (!allowed) return; // a field the page does not know: leave every operator
    var operator = condition.querySelector("select[name=operator]");
    var first = null;
    Array.prototype.forEach.call(operator.options, function (option) {
      var fits = allowed.indexOf(option.value) >= 0;
      option.hidden = !fits;
      option.disabled = !fits;
      if (fits && !first) first = option;
    });
    if (operator.selectedOptions[0] && operator.selectedOptions[0].disabled && first) first.selected = true;
  });

  // "Copiar link" buttons: copy the value of the field named by data-copy (invite links).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(function () {});
  });

  // Customers writing while the reader looks elsewhere (another chat, another tab): a short
  // sound, a desktop notification when the browser allows them, and "(n)" in the tab's title
  // until the tab is seen again. The server sends `notify` only for a customer's new message in
  // a chat that is the reader's or has nobody; the 🔔 button turns it off (kept per browser).
  var ALERTS_KEY = "zapcrm.alerts";
  var baseTitle = document.title, unseen = 0, lastSound = 0, audio = null;
  function alertsOn() {
    try { return window.localStorage.getItem(ALERTS_KEY) !== "off"; } catch (e) { return true; }
  }
  function showAlertsButton() {
    var button = document.querySelector("[data-alerts]");
    if (!button) return;
    var on = alertsOn();
    var label = button.getAttribute(on ? "data-label-on" : "data-label-off");
    button.textContent = on ? "🔔" : "🔕";
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.setAttribute("aria-label", label);
    button.title = label;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-alerts]") : null;
    if (!button) return;
    var on = !alertsOn();
    try { window.localStorage.setItem(ALERTS_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
    // Browsers ask for the permission only in answer to a click: this one.
    if (on && window.Notification && Notification.permission === "default") Notification.requestPermission();
    showAlertsButton();
  });
  function chime() {
    var now = Date.now();
    if (now - lastSound < 1500) return; // a burst of messages rings once
    lastSound = now;
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      // Made before any click on the page, the context starts suspended; once the reader has
      // clicked, resuming it is allowed.
      if (audio.state === "suspended") audio.resume();
      var tone = audio.createOscillator(), volume = audio.createGain(), at = audio.currentTime;
      tone.frequency.value = 880;
      volume.gain.setValueAtTime(0.08, at);
      volume.gain.exponentialRampToValueAtTime(0.0001, at + 0.3);
      tone.connect(volume);
      volume.connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.3);
    } catch (e) { /* no sound before the page was ever clicked: the title still counts */ }
  }
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (!event.detail || event.detail.type !== "notify") return;
    event.preventDefault(); // nothing to swap
    var notice;
    try { notice = JSON.parse(event.detail.data); } catch (e) { return; }
    var box = messages();
    var watching = !document.hidden && box && box.getAttribute("data-conversation") === notice.conversation_id;
    if (watching || !alertsOn()) return;
    if (document.hidden) {
      unseen += 1;
      document.title = "(" + unseen + ") " + baseTitle;
    } else {
      showNotice(notice);
    }
    chime();
    if (document.hidden && window.Notification && Notification.permission === "granted") {
      var shown = new Notification(notice.title, { body: notice.body, tag: notice.conversation_id });
      shown.onclick = function () {
        window.focus();
        window.location.href = notice.url;
        shown.close();
      };
    }
  });
  // On screen, elsewhere in the panel: the notice as a toast linking to the chat (built with
  // textContent: the customer's words are never markup).
  var noticeTimer = null;
  function showNotice(notice) {
    var toast = document.getElementById("toast");
    if (!toast) return;
    var link = document.createElement("a");
    link.className = "toast notice-toast";
    link.href = notice.url;
    var title = document.createElement("strong");
    title.textContent = notice.title;
    link.appendChild(title);
    link.appendChild(document.createTextNode(" " + notice.body));
    toast.replaceChildren(link);
    if (noticeTimer) window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(function () { toast.replaceChildren(); }, 8000);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !unseen) return;
    unseen = 0;
    document.title = baseTitle;
  });

  // Tasks: a live reload of the list (someone else changed a task, the stream reconnected)
  // must not wipe a task being edited in its row; saving brings that row back from the server.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "task-list" && target.querySelector(".task.editing")) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    prepareComposer();
    showAlertsButton();
    if (markHit()) document.querySelector(".bubble.hit").scrollIntoView({ block: "center" });
    else scrollToBottom();
    watchTicks(true);
  });
})();
