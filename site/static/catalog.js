// Catalog browser: loads the sharded JSON rows, then filters, searches, sorts and pages them in the
// page. The query string holds the state, so any view can be shared as a link. Every value is
// written with textContent (never innerHTML): repo ids and config values are untrusted.
(function () {
  "use strict";
  var FILTERS = ["position_encoding", "scaling_type", "verdict", "family", "drift"];
  var PAGE_KEY = /^[a-z0-9][a-z0-9+._-]{0,79}$/;  // tags and families with a page (KEY_RE)
  var SORT_TEXT = {
    downloads: "most downloaded first", repo_id: "by repo id",
    served_context: "longest served context first", rope_theta: "largest \u03b8 first",
    scaling_factor: "largest factor first"
  };
  // The table's columns in order, as sort keys (the header buttons sort by them both ways).
  var HEAD_KEYS = ["repo_id", "position_encoding", "rope_theta", "scaling_type", "scaling_factor",
    "declared_context", "original_context", "served_context", "verdict", "family", "downloads"];
  var TEXT_KEYS = { repo_id: 1, position_encoding: 1, scaling_type: 1, verdict: 1, family: 1 };
  var CONTEXT_KEYS = ["declared_context", "original_context", "served_context"];
  var CONTEXT_RE = /^(\d+(?:\.\d+)?)\s*([km]?)$/i;  // as registry/queries.py parse_context
  var index = null;
  var rows = [];
  var col = {};
  var loaded = 0;

  function params() { return new URLSearchParams(window.location.search); }

  function fmt(v) {
    if (v === null || v === undefined || v === "") { return "\u2014"; }
    if (typeof v === "number") {
      return Number.isInteger(v) ? v.toLocaleString("en-US")
        : v.toLocaleString("en-US", { maximumSignificantDigits: 6 });
    }
    return String(v);
  }

  // The same short forms as registry/formatting.py fmt_tokens and fmt_theta (tested side by side in
  // tests/test_browser.py): contexts in multiples of 1024 as 128k / 1M, bases from 1e4 as 5e5.
  function tokens(v) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1024 || v % 1024
        || v % 1000 === 0) { return fmt(v); }
    var k = v / 1024;
    return k % 1024 === 0 ? (k / 1024).toLocaleString("en-US") + "M"
      : k.toLocaleString("en-US") + "k";
  }

  function theta(v) {
    if (typeof v !== "number" || !isFinite(v) || v < 1e4) { return fmt(v); }
    var e = Math.floor(Math.log10(v));
    var m = parseFloat((v / Math.pow(10, e)).toPrecision(3));
    if (m >= 10) { m = m / 10; e = e + 1; }
    if (Math.abs(m * Math.pow(10, e) - v) > 1e-9 * v) { return fmt(v); }
    return String(m) + "e" + e;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function link(href, text, cls) {
    var a = el("a", text, cls);
    a.setAttribute("href", href);
    return a;
  }

  // A context size as registry/queries.py parse_context reads it: 32768, 128k, 1M (k = 1024).
  function parseContext(text) {
    var m = CONTEXT_RE.exec(String(text).trim().replace(/[_,]/g, ""));
    if (!m) { return null; }
    var unit = { "": 1, k: 1024, m: 1048576 }[m[2].toLowerCase()];
    var value = Math.round(parseFloat(m[1]) * unit);
    return value > 0 ? value : null;
  }

  function squash(text) { return String(text || "").toLowerCase().replace(/[^a-z0-9]+/g, ""); }

  // At most one edit (insert, delete, substitute or swap) apart: "deepsek" finds "deepseek".
  function nearly(a, b) {
    if (Math.abs(a.length - b.length) > 1) { return false; }
    var i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) { i++; }
    if (i === a.length && i === b.length) { return true; }
    var rest = function (x, y) { return a.slice(x) === b.slice(y); };
    if (a.length === b.length) {
      return rest(i + 1, i + 1) || (a[i] === b[i + 1] && a[i + 1] === b[i] && rest(i + 2, i + 2));
    }
    return a.length > b.length ? rest(i + 1, i) : rest(i, i + 1);
  }

  function wordMatches(row, w) {
    var fields = [row[col.repo_id], row[col.family], row[col.model_type],
      row[col.position_encoding]];
    var hay = fields.join(" ").toLowerCase();
    if (hay.indexOf(w) >= 0) { return true; }
    var syn = index.synonyms[w] || [];
    if (syn.indexOf(row[col.position_encoding]) >= 0 || syn.indexOf(row[col.family]) >= 0) {
      return true;
    }
    var size = parseContext(w);
    if (size !== null && /\d/.test(w)) {
      return CONTEXT_KEYS.some(function (k) { return row[col[k]] === size; });
    }
    var flat = squash(w);  // llama3.1 finds Meta-Llama-3.1-8B
    if (flat.length >= 3 && squash(hay).indexOf(flat) >= 0) { return true; }
    if (flat.length < 5) { return false; }
    var parts = hay.split(/[\s\/]+/).concat(hay.split(/[^a-z0-9.]+/), hay.split(/[^a-z0-9]+/));
    return parts.some(function (part) { return part.length >= 4 && nearly(flat, squash(part)); });
  }

  function matches(row, p, words, least) {
    for (var i = 0; i < FILTERS.length; i++) {
      var want = p.get(FILTERS[i]);
      if (want && row[col[FILTERS[i]]] !== want) { return false; }
    }
    if (least !== null && !(row[col.served_context] >= least)) { return false; }
    for (var j = 0; j < words.length; j++) {
      if (!wordMatches(row, words[j])) { return false; }
    }
    return true;
  }

  // Missing values sort last in either direction; ties fall back to the repo id.
  function sorter(key, dir) {
    var c = col[key];
    var sign = dir === "asc" ? 1 : -1;
    var text = TEXT_KEYS[key] === 1;
    return function (a, b) {
      var x = a[c], y = b[c];
      if (x === y || (x === null && y === null)) {
        return a[col.repo_id] < b[col.repo_id] ? -1 : a[col.repo_id] > b[col.repo_id] ? 1 : 0;
      }
      if (x === null || x === undefined) { return 1; }
      if (y === null || y === undefined) { return -1; }
      if (text) { return sign * (String(x) < String(y) ? -1 : 1); }
      return sign * (x - y);
    };
  }

  function defaultDir(key) { return TEXT_KEYS[key] === 1 ? "asc" : "desc"; }

  function cell(tr, value, numeric, short) {
    var td = el("td", short ? short(value) : fmt(value), numeric ? "n" : undefined);
    if (short && value !== null && value !== undefined) { td.title = fmt(value); }
    tr.appendChild(td);
    return td;
  }

  function rowNode(r) {
    var tr = document.createElement("tr");
    var first = document.createElement("td");
    if (r[col.page]) {
      first.appendChild(link("../models/" + r[col.repo_id] + ".html", r[col.repo_id]));
    } else {
      first.appendChild(el("span", r[col.repo_id], "refused"));
    }
    tr.appendChild(first);
    var pe = document.createElement("td");
    var tag = r[col.position_encoding];
    var entry = index.tag_entry[tag];
    var tagNode = PAGE_KEY.test(tag) ? link("../tags/" + encodeURIComponent(tag) + ".html", tag,
      entry ? "tag term" : "tag") : el("span", tag, "tag");
    if (entry && PAGE_KEY.test(tag)) { tagNode.setAttribute("aria-describedby", "card-" + entry); }
    pe.appendChild(tagNode);
    tr.appendChild(pe);
    cell(tr, r[col.rope_theta], true, theta);
    cell(tr, r[col.scaling_type]);
    cell(tr, r[col.scaling_factor], true);
    cell(tr, r[col.declared_context], true, tokens);
    cell(tr, r[col.original_context], true, tokens);
    cell(tr, r[col.served_context], true, tokens);
    var v = cell(tr, null);
    if (r[col.verdict]) {
      v.textContent = "";
      v.appendChild(el("span", r[col.verdict], "verdict v-" + r[col.verdict]));
    }
    var fam = cell(tr, r[col.family]);
    if (r[col.family] && PAGE_KEY.test(r[col.family])) {
      fam.textContent = "";
      fam.appendChild(link("../families/" + encodeURIComponent(r[col.family]) + ".html",
        r[col.family]));
    }
    cell(tr, r[col.downloads], true);
    return tr;
  }

  function render() {
    var p = params();
    var words = (p.get("q") || "").toLowerCase().split(/\s+/).filter(Boolean);
    var least = p.get("min_context") ? parseContext(p.get("min_context")) : null;
    var bad = document.getElementById("f-min_context");
    if (bad) {
      bad.setAttribute("aria-invalid", p.get("min_context") && least === null ? "true" : "false");
    }
    var hits = rows.filter(function (r) { return matches(r, p, words, least); });
    var key = p.get("sort") || index.default_sort;
    if (col[key] === undefined) { key = index.default_sort; }
    var dir = p.get("dir") === "asc" || p.get("dir") === "desc" ? p.get("dir") : defaultDir(key);
    hits.sort(sorter(key, dir));
    var caption = document.querySelector("#table caption");
    if (caption) {
      var what = dir === defaultDir(key) && SORT_TEXT[key] ? SORT_TEXT[key]
        : "by " + key.replace(/_/g, " ") + (dir === "asc" ? ", ascending" : ", descending");
      caption.textContent = "Models, " + what
        + (words.length || least !== null || FILTERS.some(function (f) { return p.get(f); })
          ? " (filtered)" : "");
    }
    headers(key, dir);
    exports(hits);
    var per = index.page_rows;
    var pages = Math.max(1, Math.ceil(hits.length / per));
    var page = Math.min(Math.max(1, parseInt(p.get("page") || "1", 10) || 1), pages);
    var body = document.querySelector("#table tbody");
    var frag = document.createDocumentFragment();
    hits.slice((page - 1) * per, page * per).forEach(function (r) { frag.appendChild(rowNode(r)); });
    body.replaceChildren(frag);
    var status = document.getElementById("status");
    var more = loaded < index.shards.length ? " (loading: " + rows.length.toLocaleString("en-US")
      + " of " + index.total.toLocaleString("en-US") + " rows so far)" : "";
    status.textContent = hits.length.toLocaleString("en-US") + " matching models, page " + page
      + " of " + pages + more + ".";
    pager(page, pages);
  }

  // Every column heading becomes a button that sorts by it, again to reverse.
  function headers(key, dir) {
    var cells = document.querySelectorAll("#table thead th");
    cells.forEach(function (th, i) {
      var name = HEAD_KEYS[i];
      if (!name || col[name] === undefined) { return; }
      var button = th.querySelector("button.sort");
      if (!button) {
        button = el("button", th.textContent.trim(), "sort");
        button.type = "button";
        button.setAttribute("data-sort", name);
        th.textContent = "";
        th.appendChild(button);
        button.addEventListener("click", function () {
          var p = params();
          var now = p.get("sort") || index.default_sort;
          var was = p.get("dir") || defaultDir(now);
          var next = now === name ? (was === "asc" ? "desc" : "asc") : defaultDir(name);
          update({ sort: name, dir: next });
          var select = document.getElementById("f-sort");
          if (select && select.querySelector("option[value='" + name + "']")) { select.value = name; }
        });
      }
      th.setAttribute("aria-sort", name === key ? (dir === "asc" ? "ascending" : "descending")
        : "none");
    });
  }

  function csvCell(v) {
    if (v === null || v === undefined) { return ""; }
    var text = String(v);
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; }  // never a formula in a spreadsheet
    return /[",\n\r]/.test(text) ? "\"" + text.replace(/"/g, "\"\"") + "\"" : text;
  }

  // "This view as CSV / JSON": the filtered, sorted rows, every page, as files.
  function exports(hits) {
    var box = document.getElementById("exports");
    if (!box) { return; }
    box.hidden = false;
    var names = index.columns;
    var objects = hits.map(function (r) {
      var o = {};
      names.forEach(function (n, i) { o[n] = r[i]; });
      return o;
    });
    var csv = [names.join(",")].concat(hits.map(function (r) {
      return r.map(csvCell).join(",");
    })).join("\n") + "\n";
    [["export-csv", csv, "text/csv"], ["export-json", JSON.stringify(objects, null, 1) + "\n",
      "application/json"]].forEach(function (e) {
      var a = document.getElementById(e[0]);
      if (a.href && a.href.indexOf("blob:") === 0) { URL.revokeObjectURL(a.href); }
      a.href = URL.createObjectURL(new Blob([e[1]], { type: e[2] }));
    });
  }

  function pager(page, pages) {
    var nav = document.getElementById("pager");
    nav.replaceChildren();
    [["\u2190 Previous", page - 1], ["Next \u2192", page + 1]].forEach(function (b) {
      var button = el("button", b[0]);
      button.type = "button";
      button.disabled = b[1] < 1 || b[1] > pages;
      button.addEventListener("click", function () { update({ page: String(b[1]) }); });
      nav.appendChild(button);
    });
  }

  function update(changes) {
    var p = params();
    Object.keys(changes).forEach(function (k) {
      if (changes[k]) { p.set(k, changes[k]); } else { p.delete(k); }
    });
    if (!("page" in changes)) { p.delete("page"); }
    var qs = p.toString();
    window.history.replaceState(null, "", qs ? "?" + qs : window.location.pathname);
    render();
  }

  function bindForm() {
    var form = document.getElementById("filters");
    var p = params();
    form.hidden = false;
    var fallback = document.getElementById("static-pages");
    if (fallback) { fallback.hidden = true; }
    ["q", "sort", "min_context"].concat(FILTERS).forEach(function (name) {
      var input = document.getElementById("f-" + name);
      if (!input) { return; }
      if (p.get(name)) { input.value = p.get(name); }
      input.addEventListener(name === "q" || name === "min_context" ? "input" : "change",
        function () {
        var change = {};
        change[name] = input.value;
        if (name === "sort") { change.dir = ""; }
        update(change);
      });
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  function loadShard(i) {
    if (i >= index.shards.length) { return Promise.resolve(); }
    return fetch("../" + index.shards[i]).then(function (r) { return r.json(); }).then(function (chunk) {
      rows = rows.concat(chunk);
      loaded = i + 1;
      render();
      return loadShard(i + 1);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fetch("../data/catalog.json").then(function (r) { return r.json(); }).then(function (data) {
      index = data;
      data.columns.forEach(function (name, i) { col[name] = i; });
      bindForm();
      return loadShard(0);
    }).then(function () {
      document.documentElement.setAttribute("data-catalog", "ready");
    }).catch(function (err) {
      document.getElementById("status").textContent = "Could not load the catalog data: " + err;
    });
  });
})();
