// The prompt editor: add, remove and move chat message and config rows,
// switch between text and chat (new prompts), and between config fields
// and raw JSON. Everything is read from data-* attributes; the form also
// works without this script (rows are posted as message-<n>-<field>).
(function () {
  "use strict";

  // Tell the form something changed so htmx refreshes the live preview.
  function announce(element) {
    element.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function rowsOf(list) {
    return Array.from(list.children).filter(function (child) {
      return child.hasAttribute("data-row");
    });
  }

  // Give every field of every row its name from its position, so the
  // server reads the rows in the order shown.
  function renumber(list) {
    var prefix = list.getAttribute("data-row-list");
    rowsOf(list).forEach(function (row, index) {
      row.querySelectorAll("[data-field]").forEach(function (field) {
        field.name = prefix + "-" + index + "-" + field.getAttribute("data-field");
      });
      var number = row.querySelector("[data-row-number]");
      if (number) {
        number.textContent = String(index + 1);
      }
    });
  }

  function addRow(form, button) {
    var listName = button.getAttribute("data-add-row");
    var list = form.querySelector('[data-row-list="' + listName + '"]');
    var template = form.querySelector(
      '[data-row-template="' + button.getAttribute("data-template") + '"]'
    );
    if (!list || !template) {
      return;
    }
    var row = template.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    renumber(list);
    var first = row.querySelector("textarea, input:not([type=hidden]), select");
    if (first) {
      first.focus();
    }
    announce(list);
  }

  function rowAction(button) {
    var row = button.closest("[data-row]");
    var list = row && row.parentElement;
    if (!list) {
      return;
    }
    var action = button.getAttribute("data-row-action");
    if (action === "remove") {
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      var target = next && next.querySelector("[data-row-action]");
      if (target) {
        target.focus();
      }
    } else if (action === "up" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
      button.focus();
    } else if (action === "down" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
      button.focus();
    }
    renumber(list);
    announce(list);
  }

  function showTypeSection(form) {
    var chosen = form.querySelector("[data-type-switch]:checked");
    if (!chosen) {
      return;
    }
    form.querySelectorAll("[data-type-section]").forEach(function (section) {
      section.hidden = section.getAttribute("data-type-section") !== chosen.value;
    });
  }

  // Config values: JSON when they parse, else text (the server does the same).
  function parsedValue(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return text;
    }
  }

  function shownValue(value) {
    if (typeof value === "string") {
      try {
        JSON.parse(value);
      } catch (error) {
        return value;
      }
    }
    return JSON.stringify(value);
  }

  function fieldsToJson(form) {
    var config = {};
    var list = form.querySelector('[data-row-list="config"]');
    rowsOf(list).forEach(function (row) {
      var key = row.querySelector('[data-field="key"]').value.trim();
      if (key) {
        config[key] = parsedValue(row.querySelector('[data-field="value"]').value.trim());
      }
    });
    return JSON.stringify(config, null, 2);
  }

  // Returns false (and leaves the rows alone) when the JSON is not an object.
  function jsonToFields(form, text) {
    var config;
    try {
      config = text.trim() ? JSON.parse(text) : {};
    } catch (error) {
      return false;
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      return false;
    }
    var list = form.querySelector('[data-row-list="config"]');
    var template = form.querySelector('[data-row-template="config"]');
    rowsOf(list).forEach(function (row) {
      row.remove();
    });
    var keys = Object.keys(config);
    (keys.length ? keys : [""]).forEach(function (key) {
      var row = template.content.firstElementChild.cloneNode(true);
      row.querySelector('[data-field="key"]').value = key;
      row.querySelector('[data-field="value"]').value = key ? shownValue(config[key]) : "";
      list.appendChild(row);
    });
    renumber(list);
    return true;
  }

  function switchConfigMode(form, radio) {
    var raw = form.querySelector('textarea[name="config"]');
    var message = form.querySelector("[data-config-message]");
    message.hidden = true;
    if (radio.value === "raw") {
      raw.value = fieldsToJson(form);
    } else if (!jsonToFields(form, raw.value)) {
      message.textContent =
        "The raw JSON is not a valid JSON object, so it cannot be shown as fields. Fix it first.";
      message.hidden = false;
      form.querySelector('[data-config-mode][value="raw"]').checked = true;
      return;
    }
    form.querySelectorAll("[data-config-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-config-panel") !== radio.value;
    });
  }

  function setUp(form) {
    form.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-row]");
      if (add) {
        event.preventDefault();
        addRow(form, add);
        return;
      }
      var action = event.target.closest("[data-row-action]");
      if (action) {
        event.preventDefault();
        rowAction(action);
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-type-switch]")) {
        showTypeSection(form);
      } else if (event.target.matches("[data-config-mode]")) {
        switchConfigMode(form, event.target);
      }
    });
    showTypeSection(form);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-prompt-editor]").forEach(setUp);
  });
})();
