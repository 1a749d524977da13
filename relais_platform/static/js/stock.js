// Stock and orders pages: progressive enhancements only (every form works without them).
(function () {
  "use strict";

  // The page's language (French by default, English available).
  var EN = document.documentElement.lang === "en";
  var T = EN ? {
    one: " serial entered", many: " serials entered", sum: "Received + refused = ", of: " of ",
    shipped: " shipped", mismatch: ": the quantities do not match.", total: "Total allocated: ",
    available: " available", over: ": more than the available stock."
  } : {
    one: " numéro saisi", many: " numéros saisis", sum: "Reçu + refusé = ", of: " sur ",
    shipped: " expédié(s)", mismatch: " : les quantités ne correspondent pas.", total: "Total alloué : ",
    available: " disponible(s)", over: " : c'est plus que le stock disponible."
  };

  function splitSerials(text) {
    return text.split(/[\s,;]+/).filter(function (piece) { return piece.length > 0; });
  }

  function toInt(value) {
    var text = (value || "").trim();
    return /^\d+$/.test(text) ? parseInt(text, 10) : null;
  }

  // Serial areas: say how many serials were scanned or pasted so far.
  function countSerials(area) {
    var output = area.nextElementSibling;
    if (!output || !output.hasAttribute("data-serial-counter")) {
      output = document.createElement("p");
      output.className = "hint";
      output.setAttribute("data-serial-counter", "");
      output.setAttribute("aria-live", "polite");
      area.insertAdjacentElement("afterend", output);
    }
    var count = splitSerials(area.value).length;
    output.textContent = count === 0 ? "" : count + (count === 1 ? T.one : T.many);
  }

  // Receipt lines: check received + refused = shipped as the person types.
  function checkReceiptLine(line) {
    var shipped = parseInt(line.getAttribute("data-shipped"), 10);
    var received = toInt(line.querySelector("[data-received]").value);
    var refused = toInt(line.querySelector("[data-refused]").value || "0");
    var output = line.querySelector("[data-receipt-check]");
    if (!output) { return; }
    if (received === null || refused === null) {
      output.textContent = "";
      return;
    }
    var ok = received + refused === shipped;
    output.textContent = T.sum + (received + refused) + T.of + shipped + T.shipped + (ok ? "." : T.mismatch);
    output.classList.toggle("receipt-check--mismatch", !ok);
  }

  // Fair split: show the total against what is available.
  function totalSplit(form) {
    var available = parseInt(form.getAttribute("data-available"), 10);
    var total = 0;
    form.querySelectorAll("[data-split-quantity]").forEach(function (input) {
      total += toInt(input.value) || 0;
    });
    var output = form.querySelector("[data-split-total]");
    if (!output) { return; }
    output.textContent = T.total + total + T.of + available + T.available + (total > available ? T.over : ".");
    output.classList.toggle("split-total--over", total > available);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-serial-count]").forEach(countSerials);
    document.querySelectorAll("[data-receipt-line]").forEach(checkReceiptLine);
    document.querySelectorAll("[data-split]").forEach(totalSplit);
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.hasAttribute("data-serial-count")) { countSerials(target); }
    var line = target.closest("[data-receipt-line]");
    if (line) { checkReceiptLine(line); }
    var split = target.closest("[data-split]");
    if (split) { totalSplit(split); }
  });
})();
