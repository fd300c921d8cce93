// Catalog browser: loads the sharded JSON rows, then filters, searches, sorts and pages them in the
// page. The query string holds the state, so any view can be shared as a link. Every value is
// written with textContent (never innerHTML): repo ids and config values are untrusted.
(function () {
  "use strict";
  var FILTERS = ["position_encoding", "scaling_type", "verdict", "family"];
  var PAGE_KEY = /^[a-z0-9][a-z0-9+._-]{0,79}$/;  // tags and families with a page (KEY_RE)
  var SORT_TEXT = {
    downloads: "most downloaded first", repo_id: "by repo id",
    served_context: "longest served context first", rope_theta: "largest \u03b8 first",
    scaling_factor: "largest factor first"
  };
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

  function matches(row, p, words) {
    for (var i = 0; i < FILTERS.length; i++) {
      var want = p.get(FILTERS[i]);
      if (want && row[col[FILTERS[i]]] !== want) { return false; }
    }
    for (var j = 0; j < words.length; j++) {
      var w = words[j];
      var hay = [row[col.repo_id], row[col.family], row[col.model_type],
        row[col.position_encoding]].join(" ").toLowerCase();
      if (hay.indexOf(w) >= 0) { continue; }
      var syn = index.synonyms[w] || [];
      if (syn.indexOf(row[col.position_encoding]) >= 0 || syn.indexOf(row[col.family]) >= 0) {
        continue;
      }
      return false;
    }
    return true;
  }

  function sorter(key) {
    var c = col[key];
    if (key === "repo_id") {
      return function (a, b) { return a[c] < b[c] ? -1 : a[c] > b[c] ? 1 : 0; };
    }
    return function (a, b) {
      var x = a[c], y = b[c];
      if (x === y) { return a[col.repo_id] < b[col.repo_id] ? -1 : 1; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return y - x;
    };
  }

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
    var hits = rows.filter(function (r) { return matches(r, p, words); });
    var key = p.get("sort") || "downloads";
    if (col[key] === undefined) { key = "downloads"; }
    hits.sort(sorter(key));
    var caption = document.querySelector("#table caption");
    if (caption) {
      caption.textContent = "Models, " + (SORT_TEXT[key] || SORT_TEXT.downloads)
        + (words.length || FILTERS.some(function (f) { return p.get(f); }) ? " (filtered)" : "");
    }
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
    ["q", "sort"].concat(FILTERS).forEach(function (name) {
      var input = document.getElementById("f-" + name);
      if (!input) { return; }
      if (p.get(name)) { input.value = p.get(name); }
      input.addEventListener(name === "q" ? "input" : "change", function () {
        var change = {};
        change[name] = input.value;
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
