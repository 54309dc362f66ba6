// Filters for the findings table: every select narrows the rows; the charts' bars set a filter when clicked.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings-table tbody tr.finding"));
  var names = ["article", "severity", "branch", "month", "outcome"];
  var shown = document.getElementById("shown-count");
  var none = document.getElementById("no-match");

  function apply() {
    var wanted = {};
    names.forEach(function (name) { if (form.elements[name]) { wanted[name] = form.elements[name].value; } });
    var count = 0;
    rows.forEach(function (row) {
      var keep = names.every(function (name) { return !wanted[name] || row.getAttribute("data-" + name) === wanted[name]; });
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = String(count);
    none.hidden = count > 0;
    document.body.setAttribute("data-filtered", String(count));
  }

  function choose(name, value) {
    var select = form.elements[name];
    if (!select) { return; }
    select.value = value;
    apply();
    document.getElementById("findings").scrollIntoView({ block: "start" });
  }

  function clear() {
    names.forEach(function (name) { if (form.elements[name]) { form.elements[name].value = ""; } });
  }

  form.addEventListener("change", apply);
  form.addEventListener("reset", function (event) { event.preventDefault(); clear(); apply(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (bar) {
    bar.addEventListener("click", function () { choose(bar.getAttribute("data-filter"), bar.getAttribute("data-value")); });
    bar.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose(bar.getAttribute("data-filter"), bar.getAttribute("data-value"));
      }
    });
  });
  clear();  // a reopened page starts unfiltered, whatever the browser restored
  apply();
}());
