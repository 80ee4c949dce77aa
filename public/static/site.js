// Progressive enhancement only: every page works without this script.
// Choosing a month in the month list opens that month at once.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.querySelector("form.month-pick select");
  if (!select) { return; }
  var button = document.querySelector("form.month-pick button");
  if (button) { button.classList.add("visually-hidden"); }
  select.addEventListener("change", function () { select.form.submit(); });
});
