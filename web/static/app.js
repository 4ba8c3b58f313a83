// Small improvements only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // A one-click step that cannot be undone asks first; without script the form just posts.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  document.querySelectorAll("fieldset.rows").forEach(function (set) {
    var button = set.querySelector("button.add-row");
    var template = set.querySelector("template");
    var body = set.querySelector("tbody");
    if (!button || !template || !body) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var row = document.createElement("tr");
      row.innerHTML = template.innerHTML.split("__n__").join(String(body.rows.length));
      body.appendChild(row);
    });
  });
});
