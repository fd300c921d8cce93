// Glossary index filter: matches titles, slugs and aliases ("aka").
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("g-q");
    if (!box) { return; }
    box.addEventListener("input", function () {
      var q = box.value.trim().toLowerCase();
      document.querySelectorAll(".entries li").forEach(function (li) {
        li.hidden = q !== "" && li.getAttribute("data-terms").indexOf(q) < 0;
      });
    });
  });
})();
