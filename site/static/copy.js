// Copy buttons for the recipe blocks (pre[data-copy]); added only when a clipboard is there, so a
// page without JavaScript shows plain selectable text and no dead button.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) { return; }
    document.querySelectorAll("pre[data-copy]").forEach(function (pre) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(pre.textContent).then(function () {
          button.textContent = "Copied";
        }, function () {
          button.textContent = "Copy failed: select the text";
        });
      });
      pre.parentNode.insertBefore(button, pre);
    });
  });
})();
