// The findings table: every select and the search box narrow the rows; the charts' bars set a filter when
// clicked; a column heading sorts by that column; the rows that match are shown a page at a time; the CSV
// button downloads every matching row (all pages), in the order shown. Nothing here reaches a network.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var table = document.getElementById("findings-table");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr.finding"));
  var names = ["article", "severity", "branch", "employee", "month", "outcome"];
  var pageSize = parseInt(table.getAttribute("data-page-size"), 10) || 200;
  var shown = document.getElementById("shown-count");
  var none = document.getElementById("no-match");
  var pageInfo = document.getElementById("page-info");
  var previous = document.getElementById("page-previous");
  var next = document.getElementById("page-next");
  var page = 0;
  var matching = rows;
  var texts = null;  // each row's text in lower case, read on the first search

  function thousands(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  function rowText(index) {
    if (texts === null) { texts = rows.map(function (row) { return row.textContent.toLowerCase(); }); }
    return texts[index];
  }

  function filter() {
    var wanted = {};
    names.forEach(function (name) { if (form.elements[name]) { wanted[name] = form.elements[name].value; } });
    var words = form.elements.search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    matching = [];
    rows.forEach(function (row, index) {
      var keep = names.every(function (name) { return !wanted[name] || row.getAttribute("data-" + name) === wanted[name]; })
        && words.every(function (word) { return rowText(index).indexOf(word) >= 0; });
      if (keep) { matching.push(row); }
    });
    page = 0;
    show();
  }

  function show() {
    var pages = Math.max(1, Math.ceil(matching.length / pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    var first = page * pageSize;
    var onPage = new Set(matching.slice(first, first + pageSize));
    rows.forEach(function (row) { row.hidden = !onPage.has(row); });
    shown.textContent = thousands(matching.length);
    none.hidden = matching.length > 0;
    pageInfo.textContent = thousands(page + 1) + " / " + thousands(pages);
    previous.disabled = page === 0;
    next.disabled = page >= pages - 1;
    document.body.setAttribute("data-filtered", String(matching.length));
    document.body.setAttribute("data-page", String(page + 1));
  }

  function choose(name, value) {
    var select = form.elements[name];
    if (!select) { return; }
    select.value = value;
    filter();
    document.getElementById("findings").scrollIntoView({ block: "start" });
  }

  function clear() {
    names.forEach(function (name) { if (form.elements[name]) { form.elements[name].value = ""; } });
    form.elements.search.value = "";
  }

  // -- sorting: by the data-sort of a column's cells, numbers as numbers; again reverses ---------------------
  var headings = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var collator = new Intl.Collator(document.documentElement.lang, { numeric: true });

  function sortBy(column) {
    var heading = headings[column];
    var ascending = heading.getAttribute("aria-sort") !== "ascending";
    headings.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var order = rows.map(function (row, index) { return { row: row, index: index, key: row.cells[column].getAttribute("data-sort") || "" }; });
    order.sort(function (a, b) { return (ascending ? 1 : -1) * collator.compare(a.key, b.key) || a.index - b.index; });
    var fragment = document.createDocumentFragment();
    rows = order.map(function (item) { fragment.appendChild(item.row); return item.row; });
    body.appendChild(fragment);
    texts = null;
    var matched = new Set(matching);
    matching = rows.filter(function (row) { return matched.has(row); });
    page = 0;
    show();
  }

  headings.forEach(function (heading, column) {
    heading.querySelector("button").addEventListener("click", function () { sortBy(column); });
  });

  // -- CSV of the matching rows (every page), as a download made here ---------------------------------------
  var columns = Array.prototype.map.call(document.querySelectorAll("#csv-columns li"), function (item) {
    return { key: item.getAttribute("data-col"), label: item.textContent };
  });

  function csvCell(text) {
    var value = text.replace(/\s+/g, " ").trim();
    if (/^[=+\-@\t\r]/.test(value)) { value = "'" + value; }  // a spreadsheet must not read it as a formula
    return "\"" + value.replace(/"/g, "\"\"") + "\"";
  }

  function csv() {
    var lines = [columns.map(function (c) { return csvCell(c.label); }).join(",")];
    matching.forEach(function (row) {
      lines.push(columns.map(function (c) {
        var cell = row.querySelector("[data-col=\"" + c.key + "\"]");
        return csvCell(cell ? cell.textContent : "");
      }).join(","));
    });
    return "\ufeff" + lines.join("\r\n") + "\r\n";  // the byte-order mark makes Excel read UTF-8 Chinese
  }

  document.getElementById("export-csv").addEventListener("click", function () {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([csv()], { type: "text/csv;charset=utf-8" }));
    link.download = "svcpolicy-findings.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  });

  previous.addEventListener("click", function () { page -= 1; show(); });
  next.addEventListener("click", function () { page += 1; show(); });
  form.addEventListener("change", filter);
  form.elements.search.addEventListener("input", filter);
  form.addEventListener("reset", function (event) { event.preventDefault(); clear(); filter(); });
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
  filter();
}());
