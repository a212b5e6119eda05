// Every page: say when an htmx request fails instead of failing silently or
// swapping a login page into a panel, and stop a posted form from being sent
// twice. Messages go in the #htmx-flash banner of base.html; nothing the user
// typed is ever removed.
(function () {
  "use strict";

  var LOGIN_PATH = "/login/";
  var SUBMIT_BUTTONS = "button[type=submit], button:not([type]), input[type=submit]";
  var SESSION_ENDED =
    "Your session has ended: log in again (your text is kept in this page)";

  function banner() {
    return document.getElementById("htmx-flash");
  }

  function hideBanner() {
    var flash = banner();
    if (flash) {
      flash.hidden = true;
      flash.replaceChildren();
    }
  }

  // Show ``parts`` (strings and nodes) in the banner, with a button to close it.
  function showBanner(parts) {
    var flash = banner();
    if (!flash) {
      return;
    }
    var text = document.createElement("p");
    parts.forEach(function (part) {
      text.append(part);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "secondary";
    close.textContent = "Dismiss";
    close.addEventListener("click", hideBanner);
    flash.replaceChildren(text, close);
    flash.hidden = false;
  }

  function loginLink() {
    var link = document.createElement("a");
    var here = window.location.pathname + window.location.search;
    link.href = LOGIN_PATH + "?next=" + encodeURIComponent(here);
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "Log in (opens a new tab)";
    return link;
  }

  // What the user was doing, in their words: the button or link they used.
  function actionName(detail) {
    var source = detail.requestConfig && detail.requestConfig.triggeringEvent;
    var submitter = source && source.submitter;
    var element = submitter || detail.elt;
    var words = element && (element.getAttribute("aria-label") || element.textContent);
    words = (words || "").replace(/\s+/g, " ").trim();
    if (words && words.length <= 40 && !(element instanceof HTMLFormElement)) {
      return "“" + words + "”";
    }
    return "The request";
  }

  function endedOnLoginPage(xhr) {
    var url = xhr && xhr.responseURL;
    return Boolean(url) && url.indexOf(LOGIN_PATH) !== -1;
  }

  // The session cookie is gone or expired: @login_required redirected the
  // request and the browser followed it to the login page. Swapping that page
  // into a panel would replace the form and what was typed in it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var onLoginPage = window.location.pathname === LOGIN_PATH;
    if (endedOnLoginPage(event.detail.xhr) && !onLoginPage) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      showBanner([SESSION_ENDED + ". ", loginLink()]);
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    showBanner([
      actionName(event.detail) +
        " failed: the server could not be reached. Check your connection and " +
        "try again; your text is kept in this page.",
    ]);
  });

  // Refusals the server renders for the page say how to show them (HX-Reswap,
  // see review.js); anything else would otherwise vanish without a word.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Reswap")) {
      return;
    }
    var reason;
    if (xhr.status >= 500) {
      reason = "the server had an error (" + xhr.status + ")";
    } else if (xhr.status === 403) {
      reason = "it is not allowed (403); the page may be out of date, so reload it";
    } else {
      reason = "the server refused it (" + xhr.status + ")";
    }
    showBanner([
      actionName(event.detail) + " failed: " + reason + ". Your text is kept in this page.",
    ]);
  });

  // A new request starts afresh; an old failure no longer applies.
  document.addEventListener("htmx:beforeRequest", hideBanner);

  // Logging in again (in another tab) gives the browser a new CSRF cookie;
  // send that one, so the form kept on this page can be sent again.
  function csrfCookie() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfCookie();
    if (!token) {
      return;
    }
    event.detail.headers["X-CSRFToken"] = token;
    // Django reads a posted csrfmiddlewaretoken before the header.
    var parameters = event.detail.parameters;
    if (parameters && parameters.csrfmiddlewaretoken !== undefined) {
      parameters.csrfmiddlewaretoken = token;
    }
  });

  // A posted form that the browser sends itself (not htmx, not cancelled by a
  // confirm) is sent once: a second click would save a second time.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") {
      return;
    }
    var token = csrfCookie();
    var field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    if (token && field) {
      field.value = token;
    }
    // After the other submit listeners, so a cancelled submit is left alone;
    // the browser has read the buttons' values by then.
    window.setTimeout(function () {
      if (event.defaultPrevented) {
        return;
      }
      form.setAttribute("aria-busy", "true");
      form.querySelectorAll(SUBMIT_BUTTONS).forEach(function (button) {
        if (!button.disabled) {
          button.disabled = true;
          button.setAttribute("data-sent", "");
        }
      });
    }, 0);
  });

  // Back to a page from the history cache: its forms may be used again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("[data-sent]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("data-sent");
      });
    });
  });
})();
