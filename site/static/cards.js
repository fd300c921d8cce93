// Hover cards: a term link shows its card (one per term per page) on hover and keyboard focus.
// The card stays while the pointer is over it, and Escape hides it (WCAG 1.4.13).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var hideTimer = null;
  var shown = null;

  function cardFor(link) {
    var id = link.getAttribute("aria-describedby");
    return id ? document.getElementById(id) : null;
  }
  function hide() {
    if (shown) { shown.hidden = true; shown = null; }
  }
  function show(link) {
    var card = cardFor(link);
    if (!card) { return; }
    clearTimeout(hideTimer);
    if (shown && shown !== card) { hide(); }
    card.hidden = false;
    shown = card;
    var box = link.getBoundingClientRect();
    var left = Math.max(8, Math.min(box.left + window.scrollX,
      window.scrollX + document.documentElement.clientWidth - card.offsetWidth - 8));
    card.style.left = left + "px";
    card.style.top = (box.bottom + window.scrollY + 6) + "px";
  }
  function later() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, 250);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var links = document.querySelectorAll("a.term[aria-describedby]");
    links.forEach(function (link) {
      link.addEventListener("mouseenter", function () { show(link); });
      link.addEventListener("mouseleave", later);
      link.addEventListener("focus", function () { show(link); });
      link.addEventListener("blur", later);
    });
    document.querySelectorAll(".card").forEach(function (card) {
      card.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
      card.addEventListener("mouseleave", later);
      card.addEventListener("focusin", function () { clearTimeout(hideTimer); });
      card.addEventListener("focusout", later);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { hide(); }
    });
  });
})();
