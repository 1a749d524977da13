// Progressive enhancements only: every page works without JavaScript.
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 48rem)");

  // The menu folds behind its button on a phone (without this script it stays open).
  function setUpMenu() {
    var toggle = document.querySelector("[data-menu-toggle]");
    var menu = document.querySelector("[data-menu]");
    if (!toggle || !menu) { return; }
    toggle.hidden = false;
    function fold(folded) {
      toggle.setAttribute("aria-expanded", folded ? "false" : "true");
      if (folded && PHONE.matches) { menu.setAttribute("data-collapsed", ""); }
      else { menu.removeAttribute("data-collapsed"); }
    }
    fold(true);
    toggle.addEventListener("click", function () {
      fold(toggle.getAttribute("aria-expanded") === "true");
    });
    PHONE.addEventListener("change", function () { fold(true); });
  }

  // Menu groups: one open at a time; a click elsewhere or Escape closes them (desktop drop-downs).
  function closeGroups(except) {
    document.querySelectorAll("[data-nav-group][open]").forEach(function (group) {
      if (group !== except) { group.removeAttribute("open"); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    // Move focus to the error summary so screen-reader and keyboard users land on it.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
    document.querySelectorAll("[data-nav-group]").forEach(function (group) {
      group.addEventListener("toggle", function () { if (group.open) { closeGroups(group); } });
    });
  });

  document.addEventListener("click", function (event) {
    if (!PHONE.matches && !event.target.closest("[data-nav-group]")) { closeGroups(null); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("[data-nav-group][open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });

  // Ask before irreversible or disruptive actions (a form or button marked with data-confirm).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
