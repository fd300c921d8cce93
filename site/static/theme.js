// Light / dark: follows the system until the header button picks one, remembered per browser.
// Loaded without `defer` so the chosen scheme applies before the first paint.
(function () {
  "use strict";
  var KEY = "ropedex-theme";
  var root = document.documentElement;
  try {
    var saved = window.localStorage.getItem(KEY);
    if (saved === "light" || saved === "dark") { root.setAttribute("data-theme", saved); }
  } catch (e) { /* storage blocked: follow the system */ }

  function current() {
    var chosen = root.getAttribute("data-theme");
    if (chosen) { return chosen; }
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme");
    if (!button) { return; }
    function show() { button.setAttribute("aria-pressed", current() === "dark" ? "true" : "false"); }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { window.localStorage.setItem(KEY, next); } catch (e) { /* not remembered */ }
      show();
    });
  });
})();
