// Search as you type (progressive enhancement: the form's own button still works without it).
// A form marked `data-live-search="ID"` is sent in the background when its `data-live-input`
// field changes; the element #ID of the answer replaces the one on the page. A form that
// posts also sends `data-live-extra` (the name of its search button), so the server only
// searches and never saves.
(function () {
  "use strict";

  var DELAY = 350;

  function refresh(form) {
    var region = document.getElementById(form.getAttribute("data-live-search"));
    if (!region) { return; }
    var data = new FormData(form);
    var extra = form.getAttribute("data-live-extra");
    if (extra) { data.set(extra, "1"); }
    var method = (form.getAttribute("method") || "get").toUpperCase();
    var url = form.getAttribute("action") || window.location.pathname;
    var options = { method: method, credentials: "same-origin", headers: { "X-Live-Search": "1" } };
    if (method === "GET") {
      var query = new URLSearchParams(data).toString();
      url += (url.indexOf("?") < 0 ? "?" : "&") + query;
    } else {
      options.body = data;
    }
    var ticket = (form.liveTicket || 0) + 1;
    form.liveTicket = ticket;
    region.setAttribute("aria-busy", "true");
    fetch(url, options).then(function (response) {
      return response.text();
    }).then(function (html) {
      if (form.liveTicket !== ticket) { return; }  // a newer search is on its way
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
      if (fresh) { region.innerHTML = fresh.innerHTML; }
      region.removeAttribute("aria-busy");
      if (method === "GET") { window.history.replaceState(null, "", url); }
    }).catch(function () {
      region.removeAttribute("aria-busy");
    });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.hasAttribute || !input.hasAttribute("data-live-input")) { return; }
    var form = input.form;
    if (!form || !form.hasAttribute("data-live-search")) { return; }
    window.clearTimeout(form.liveTimer);
    form.liveTimer = window.setTimeout(function () { refresh(form); }, DELAY);
  });

  // Enter in the search field searches (it would otherwise submit the whole form).
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.hasAttribute || !input.hasAttribute("data-live-input")) { return; }
    var form = input.form;
    if (form && form.hasAttribute("data-live-extra")) {
      event.preventDefault();
      window.clearTimeout(form.liveTimer);
      refresh(form);
    }
  });
})();
