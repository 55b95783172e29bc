// FineVidBench leaderboard: sort the table by a column header, filter rows by name, hide baselines / self-reported.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var buttons = table.querySelectorAll("thead button[data-key]");
  var filter = document.getElementById("filter");
  var hideBaselines = document.getElementById("hide-baselines");
  var hideSelf = document.getElementById("hide-self");
  var shown = document.getElementById("shown");
  var current = { key: null, dir: null };

  function cellValue(row, key) {
    var cell = row.querySelector('td[data-key="' + key + '"]');
    return cell ? cell.getAttribute("data-value") : "";
  }

  // numeric columns compare numbers; text columns compare strings; empty values always sort last
  function sortBy(key, dir, text) {
    var sign = dir === "asc" ? 1 : -1;
    var keyed = rows.map(function (row, i) { return { row: row, v: cellValue(row, key), i: i }; });
    keyed.sort(function (a, b) {
      if (a.v === "" || b.v === "") return (a.v === "") - (b.v === "") || a.i - b.i;
      var c = text ? a.v.localeCompare(b.v) : parseFloat(a.v) - parseFloat(b.v);
      return sign * c || a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    current = { key: key, dir: dir };
    table.classList.toggle("by-rank", (key === "rank" || key === "tier") && dir === "asc"); // tier separators
    Array.prototype.forEach.call(buttons, function (b) {
      var th = b.parentNode;
      if (b.getAttribute("data-key") === key) th.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }

  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-key");
      var first = b.getAttribute("data-dir") || "desc"; // scores: best first; rank, names: ascending first
      var dir = current.key === key ? (current.dir === "asc" ? "desc" : "asc") : first;
      sortBy(key, dir, b.getAttribute("data-type") === "text");
    });
  });

  function applyFilter() {
    var q = filter ? filter.value.trim().toLowerCase() : "";
    var n = 0;
    rows.forEach(function (row) {
      var hide = (q !== "" && row.getAttribute("data-name").indexOf(q) === -1) ||
        (hideBaselines && hideBaselines.checked && row.getAttribute("data-baseline") === "1") ||
        (hideSelf && hideSelf.checked && row.getAttribute("data-status") === "self-reported");
      row.hidden = hide;
      if (!hide) n += 1;
    });
    if (shown) shown.textContent = n + " of " + rows.length + " shown";
  }

  [filter, hideBaselines, hideSelf].forEach(function (el) {
    if (el) el.addEventListener(el.type === "checkbox" ? "change" : "input", applyFilter);
  });
  applyFilter();
})();
