// contextpack report: hover, click and zoom for the treemap. Text from the data is only
// ever set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cp-data").textContent);
  var foldersEl = document.getElementById("cp-folders");
  var svg = document.getElementById("tm");
  if (!svg || !foldersEl) { return; }
  var folders = JSON.parse(foldersEl.textContent);  // [path, size, files]
  var NS = "http://www.w3.org/2000/svg";
  var W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
  var tip = document.getElementById("tip");
  var details = document.getElementById("details");
  var crumbs = document.getElementById("crumbs");
  var labels = document.getElementById("tm-labels");
  var rects = Array.prototype.slice.call(svg.querySelectorAll("#tm-rects rect"));
  var cats = {};
  var dark = {};  // categories whose colour needs white text on it
  data.cats.forEach(function (c) {
    cats[c[0]] = c;
    var n = parseInt(c[2].slice(1), 16);
    dark[c[0]] = !c[3] && 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255) < 150;
  });
  var folderByPath = {};
  folders.forEach(function (f, i) { folderByPath[f[0]] = i; });
  var folderRect = {};
  rects.forEach(function (r) { if (r.classList.contains("d")) { folderRect[r.dataset.f] = r; } });
  // the solid share of a packed file, drawn over it (no events: the file's rect takes them)
  var shares = rects.filter(function (r) { return r.classList.contains("share"); });
  rects = rects.filter(function (r) { return !r.classList.contains("share"); });
  // Per folder: packed tokens and item count, from the file table.
  var packed = folders.map(function () { return [0, 0]; });
  data.files.forEach(function (f) {
    if (!f[5]) { return; }
    var parts = f[0].split("/");
    for (var k = 0; k < parts.length; k++) {
      var i = folderByPath[parts.slice(0, k).join("/")];
      if (i !== undefined) { packed[i][0] += f[5]; packed[i][1] += f[6].length; }
    }
  });
  var focus = 0, selected = null;

  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function short(n) {
    if (n >= 1e6) { return (n / 1e6).toFixed(1) + "M"; }
    if (n >= 1e3) { return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + "k"; }
    return String(n);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function geo(r) {
    return { x: r.x.baseVal.value, y: r.y.baseVal.value,
             w: r.width.baseVal.value, h: r.height.baseVal.value };
  }
  function swatch(cat) { return el("i", "sw k-" + cat); }

  // ---------------------------------------------------------------- descriptions
  function signalsEl(sig) {
    var box = el("span", "signals");
    var max = 0;
    sig.forEach(function (s) { max = Math.max(max, s[0] === "prior" ? 0 : s[1]); });
    sig.forEach(function (s) {
      var span = el("span", "sig");
      if (s[0] !== "prior") {
        var bar = el("i");
        bar.style.width = Math.max(2, Math.round(40 * s[1] / (max || 1))) + "px";
        span.appendChild(bar);
        span.appendChild(document.createTextNode(s[0] + " " + s[1].toFixed(2)));
      } else {
        span.appendChild(document.createTextNode("x prior " + s[1].toFixed(2)));
      }
      box.appendChild(span);
    });
    return box;
  }
  function itemEl(it, withSignals) {
    var box = el("div", "tip-item");
    var head = el("div");
    head.appendChild(swatch(it[5]));
    head.appendChild(document.createTextNode(
      it[5] + "  L" + it[1] + "-" + it[2] + "  " + (it[4] || it[3]) + "  \u00b7  " +
      fmt(it[6]) + " tokens  \u00b7  score " + it[7].toFixed(3)));
    box.appendChild(head);
    if (withSignals && it[9].length) { box.appendChild(signalsEl(it[9])); }
    box.appendChild(el("div", "why", it[8]));
    return box;
  }
  function leftEl(d) {
    var box = el("div", "tip-item");
    var head = el("div");
    head.appendChild(swatch(d[5].indexOf("near-duplicate") === 0 ? "duplicate" : "room"));
    head.appendChild(document.createTextNode("left out  L" + d[1] + "-" + d[2] + "  " +
      (d[3] || "") + "  \u00b7  score " + d[4].toFixed(3)));
    box.appendChild(head);
    box.appendChild(el("div", "why", d[5]));
    return box;
  }
  function describeFile(i, full) {
    var f = data.files[i];
    var box = el("div");
    box.appendChild(el("div", "tip-path", f[0]));
    var cat = cats[f[2]];
    var status = el("div");
    status.appendChild(swatch(f[2]));
    status.appendChild(document.createTextNode(cat ? cat[1] : f[2]));
    box.appendChild(status);
    if (f[9]) {
      box.appendChild(el("div", "tip-sub", fmt(f[10]) + " bytes; skipped: " + f[9]));
      return box;
    }
    var sub = fmt(f[1]) + " tokens  \u00b7  " + f[3] + "  \u00b7  " + fmt(f[4]) + " chunks";
    if (f[5]) {
      sub += "  \u00b7  " + fmt(f[5]) + " in the pack (" + f[6].length +
        (f[6].length === 1 ? " item)" : " items)");
    }
    box.appendChild(el("div", "tip-sub", sub));
    if (f[8]) { box.appendChild(el("div", "tip-sub", f[8] + " secret(s) redacted")); }
    // The tooltip shows the file's best items; the panel below, all of them by line.
    var rows = f[6].slice();
    if (!full) {
      rows.sort(function (a, b) { return data.items[b][7] - data.items[a][7] || a - b; });
      rows = rows.slice(0, 4);
      if (f[6].length > rows.length) {
        box.appendChild(el("div", "tip-sub", "best " + rows.length + " of " + f[6].length +
          " items (click for all):"));
      }
    }
    rows.forEach(function (k) { box.appendChild(itemEl(data.items[k], full)); });
    var lcap = full ? 1e9 : 2;
    f[7].slice(0, lcap).forEach(function (k) { box.appendChild(leftEl(data.left[k])); });
    return box;
  }
  function describeFolder(fi, merged) {
    var f = folders[fi];
    var box = el("div");
    box.appendChild(el("div", "tip-path", (f[0] || "(root)") + "/"));
    if (merged) {
      box.appendChild(el("div", "tip-sub", merged + " smaller files, merged"));
      return box;
    }
    var sub = fmt(f[1]) + " tokens  \u00b7  " + fmt(f[2]) + " files";
    if (packed[fi][1]) {
      sub += "  \u00b7  " + fmt(packed[fi][0]) + " in the pack (" + packed[fi][1] + " items)";
    }
    box.appendChild(el("div", "tip-sub", sub));
    return box;
  }

  // ---------------------------------------------------------------- tooltip
  function showTip(ev) {
    var r = ev.target;
    if (r.tagName !== "rect" || !r.dataset) { hideTip(); return; }
    var content;
    if (r.dataset.i !== undefined) { content = describeFile(+r.dataset.i, false); }
    else if (r.dataset.f !== undefined) { content = describeFolder(+r.dataset.f, r.dataset.n); }
    else { hideTip(); return; }
    tip.replaceChildren(content);
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var tw = tip.offsetWidth, th = tip.offsetHeight;
    if (x + tw > window.innerWidth - 8) { x = Math.max(8, ev.clientX - tw - 14); }
    if (y + th > window.innerHeight - 8) { y = Math.max(8, ev.clientY - th - 14); }
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() { tip.hidden = true; }
  svg.addEventListener("mousemove", showTip);
  svg.addEventListener("mouseleave", hideTip);

  // ---------------------------------------------------------------- zoom
  function depth(path) { return path === "" ? 0 : path.split("/").length; }
  function pathOf(r) {
    if (r.dataset.i !== undefined) { return data.files[+r.dataset.i][0]; }
    return folders[+r.dataset.f][0] + "/";
  }
  // The folder one level below the focus on the way to path, or null.
  function nextFolder(path) {
    var parts = path.split("/");
    var d = depth(folders[focus][0]) + 1;
    if (parts.length - 1 < d) { return null; }
    var i = folderByPath[parts.slice(0, d).join("/")];
    return i === undefined ? null : i;
  }
  function zoomTo(fi) {
    focus = fi;
    var g = geo(folderRect[fi]);
    var aspect = W / H, w = g.w, h = g.h;
    if (w / h > aspect) { h = w / aspect; } else { w = h * aspect; }
    var x = g.x - (w - g.w) / 2, y = g.y - (h - g.h) / 2;
    svg.setAttribute("viewBox", [x, y, w, h].map(function (v) { return v.toFixed(2); }).join(" "));
    drawCrumbs();
    drawLabels(g, { x: x, y: y, w: w, h: h });
  }
  function drawCrumbs() {
    var path = folders[focus][0];
    var parts = path ? path.split("/") : [];
    crumbs.replaceChildren();
    var add = function (label, fi) {
      var a = el("a", "", label);
      a.addEventListener("click", function () { zoomTo(fi); });
      crumbs.appendChild(a);
    };
    add(data.root || "(root)", 0);
    for (var k = 1; k <= parts.length; k++) {
      crumbs.appendChild(el("span", "sep", "/"));
      add(parts[k - 1], folderByPath[parts.slice(0, k).join("/")]);
    }
    crumbs.appendChild(el("span", "sep",
      "  \u00b7  " + fmt(folders[focus][1]) + " tokens, " + fmt(folders[focus][2]) + " files"));
  }
  function text(x, y, size, value, cls) {
    var t = document.createElementNS(NS, "text");
    t.setAttribute("x", x.toFixed(2));
    t.setAttribute("y", y.toFixed(2));
    t.setAttribute("font-size", size.toFixed(3));
    if (cls) { t.setAttribute("class", cls); }
    t.textContent = value;
    labels.appendChild(t);
  }
  function fit(value, room, px) {
    var chars = Math.floor(room / (px * 0.6));
    if (chars < 3) { return ""; }
    return value.length <= chars ? value : value.slice(0, chars - 1) + "\u2026";
  }
  function drawLabels(g, view) {
    labels.replaceChildren();
    var scale = svg.clientWidth / view.w || 1;  // screen px per unit
    var px = 11 / scale;
    // Veil what lies outside the focus, so the zoomed folder stands out.
    [[view.x, view.y, g.x - view.x, view.h], [g.x + g.w, view.y, view.x + view.w - g.x - g.w, view.h],
     [view.x, view.y, view.w, g.y - view.y], [view.x, g.y + g.h, view.w, view.y + view.h - g.y - g.h]]
      .forEach(function (v) {
        if (v[2] <= 0 || v[3] <= 0) { return; }
        var r = document.createElementNS(NS, "rect");
        r.setAttribute("class", "veil");
        ["x", "y", "width", "height"].forEach(function (a, k) { r.setAttribute(a, v[k].toFixed(2)); });
        labels.appendChild(r);
      });
    var prefix = folders[focus][0];
    var inFocus = function (p) { return prefix === "" || p.indexOf(prefix + "/") === 0; };
    rects.forEach(function (r) {
      var b = geo(r), sw = b.w * scale, sh = b.h * scale;
      if (sw < 34 || sh < 14) { return; }
      var isDir = r.classList.contains("d");
      if (isDir && r.dataset.f === String(focus)) { return; }
      var p = pathOf(r);
      if (!inFocus(p)) { return; }
      var name, sub = "", cls = "";
      if (isDir) {
        var f = folders[+r.dataset.f];
        // only folders with room for a name above their contents (see treemap.py)
        if (!(b.w > 60 && b.h > 40)) { return; }
        name = f[0].split("/").pop() + "/  " + short(f[1]);
        text(b.x + 3 / scale, b.y + 10.5 / scale * Math.min(1, scale), px, fit(name, sw - 6, 11), "dir");
        return;
      }
      if (r.dataset.i !== undefined) {
        var file = data.files[+r.dataset.i];
        name = file[0].split("/").pop();
        sub = short(file[1]) + (file[5] ? " \u00b7 " + short(file[5]) + " packed" : "");
        cls = dark[file[2]] && !r.classList.contains("tint") ? "light" : "";
      } else {
        name = r.dataset.n + " small files";
      }
      var label = fit(name, sw - 6, 11);
      if (!label) { return; }
      text(b.x + 3 / scale, b.y + 13 / scale, px, label, cls);
      if (sub && sh >= 30) {
        text(b.x + 3 / scale, b.y + 26 / scale, px * 0.9, fit(sub, sw - 6, 10), cls);
      }
    });
  }
  function select(r) {
    if (selected) { selected.classList.remove("sel"); }
    selected = r;
    r.classList.add("sel");
    details.replaceChildren(describeFile(+r.dataset.i, true));
  }
  svg.addEventListener("click", function (ev) {
    var r = ev.target;
    if (r.tagName !== "rect" || r.classList.contains("veil")) { return; }
    var next = nextFolder(pathOf(r));
    if (next !== null && !(r.classList.contains("d") && +r.dataset.f === focus)) {
      zoomTo(next);
      showTip(ev);
    } else if (r.dataset.i !== undefined) {
      select(r);
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape" || focus === 0) { return; }
    var path = folders[focus][0];
    var up = path.lastIndexOf("/") < 0 ? "" : path.slice(0, path.lastIndexOf("/"));
    zoomTo(folderByPath[up]);
  });
  // A file's heading in the items table shows the file in the map.
  document.querySelectorAll("tr.file[data-i]").forEach(function (tr) {
    tr.addEventListener("click", function () {
      var r = svg.querySelector('#tm-rects rect[data-i="' + tr.dataset.i + '"]');
      if (!r) { return; }
      var path = data.files[+tr.dataset.i][0];
      var up = path.lastIndexOf("/") < 0 ? "" : path.slice(0, path.lastIndexOf("/"));
      zoomTo(folderByPath[up] === undefined ? 0 : folderByPath[up]);
      select(r);
      svg.scrollIntoView({ block: "center" });
    });
  });
  // A legend entry picks out the files of its colour (click again for all).
  var picked = null;
  document.querySelectorAll(".legend li[data-cat]").forEach(function (li) {
    li.addEventListener("click", function () {
      picked = picked === li.dataset.cat ? null : li.dataset.cat;
      document.querySelectorAll(".legend li[data-cat]").forEach(function (x) {
        x.classList.toggle("off", picked !== null && x.dataset.cat !== picked);
      });
      rects.forEach(function (r) {
        if (r.dataset.i === undefined) { return; }
        r.classList.toggle("dim", picked !== null && data.files[+r.dataset.i][2] !== picked);
      });
      shares.forEach(function (r) {
        r.classList.toggle("dim", picked !== null && !r.classList.contains("c-" + picked));
      });
    });
  });
  window.addEventListener("resize", function () { zoomTo(focus); });
  zoomTo(0);
})();
