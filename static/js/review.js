// Review pages (version, prompt, history): show the refusals the server sends
// as fragments, and ask before a one-click label rollback.
(function () {
  "use strict";

  // htmx leaves 4xx responses unswapped. A refusal the server renders as a
  // fragment says how to swap it (HX-Reswap); show it where the form was.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Reswap")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A new request starts afresh: the last refusal no longer applies.
  document.addEventListener("htmx:beforeRequest", function () {
    var flash = document.getElementById("review-flash");
    if (flash) {
      flash.textContent = "";
    }
  });

  // Plain forms with data-confirm (label rollback) ask before they post.
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset ? event.target.dataset.confirm : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
