// The console works without this file: it only adds the copy buttons (the URLs they copy stay
// selectable text). Loaded as a file, not inline, so the Content-Security-Policy forbids inline
// scripts.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.copy);
      if (!target) return;
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = button.dataset.copied || label;
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });
});
