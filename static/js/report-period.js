// The period chooser: typing a From or To date means a custom window, so the
// Period select follows; without JavaScript the note beside it says so.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.period")) {
    const period = form.elements.period;
    for (const name of ["from", "to"]) {
      form.elements[name].addEventListener("input", () => {
        period.value = "custom";
      });
    }
  }
});
