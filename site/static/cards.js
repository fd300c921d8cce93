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
  // Delegated, so links the catalog script draws later get cards too.
  function termOf(node) {
    return node && node.closest ? node.closest("a.term[aria-describedby]") : null;
  }
  document.addEventListener("mouseover", function (event) {
    var link = termOf(event.target);
    if (link) { show(link); }
  });
  document.addEventListener("mouseout", function (event) {
    var link = termOf(event.target);
    if (link && !link.contains(event.relatedTarget)) { later(); }
  });
  document.addEventListener("focusin", function (event) {
    var link = termOf(event.target);
    if (link) { show(link); }
  });
  document.addEventListener("focusout", function (event) {
    if (termOf(event.target)) { later(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".card").forEach(function (card) {
      card.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
      card.addEventListener("mouseleave", later);
      card.addEventListener("focusin", function () { clearTimeout(hideTimer); });
      card.addEventListener("focusout", later);
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hide(); }
  });
})();
