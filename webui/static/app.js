// Progressive touches only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Sort and page size apply at once; without script, the "Apply" button does it.
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () {
      var form = select.form;
      if (form) {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  });
  // "/" focuses the search box, as on many search sites.
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("q");
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (event.key === "/" && box && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
  // A running crawl's page follows its figures (saved by the crawl every 5 s); without script the page
  // reloads itself (a <noscript> refresh). When the run ends the page is loaded once more, for its log.
  var live = document.querySelector("[data-live-run]");
  if (live && window.fetch) {
    var show = function (name, text) {
      var element = live.querySelector('[data-figure="' + name + '"]');
      if (element) {
        element.textContent = text;
      }
    };
    var number = function (value) {
      return Number(value || 0).toLocaleString("en");
    };
    var poll = function () {
      fetch(live.getAttribute("data-live-run"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(response.status);
          }
          return response.json();
        })
        .then(function (run) {
          show("status", run.status);
          show("pages", number(run.pages));
          show("pages_per_second", String(run.pages_per_second));
          show("megabytes", (run.bytes_archived / 1e6).toFixed(1));
          show("queued", number(run.queued));
          show("new", number(run.articles["new"]));
          show("changed", number(run.articles.changed));
          show("unchanged", number(run.articles.unchanged));
          show("gone", number(run.gone));
          var errors = Object.keys(run.errors).map(function (kind) {
            return kind + " \u00d7" + run.errors[kind];
          });
          show("errors", errors.length ? errors.join(", ") : "none");
          if (run.status === "running") {
            window.setTimeout(poll, 2000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () {
          window.setTimeout(poll, 10000); // the server restarting, a network hiccup: try again, slower
        });
    };
    window.setTimeout(poll, 2000);
  }
})();
