"""The HTML report: one self-contained page (inline CSS, script and SVG, no network).

Every piece of user text (paths, the query, symbols, reasons) is escaped here or set as
text by the script, never parsed as markup; the data the script reads is JSON made safe
for a ``<script>`` element. A Content-Security-Policy forbids any request, so even a
mistake cannot make the page fetch anything. No clock, sorted everything and fixed number
formats: the same pack gives the same bytes.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from ..types import Pack, reason_headline
from . import model as m
from .text import CONTEXT_SIZES
from .treemap import HEIGHT, WIDTH, Node, Rect, build_tree, layout, num

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")
#: Rows of the static tables; the rest is counted, not listed.
TABLE_ROWS = 300
LEFT_OUT_ROWS = 50
TOP_ROWS = 20
#: Models priced when the pack names none, so the page can still say what it saves.
REFERENCE_MODELS = ("gpt-4o", "claude-sonnet-4", "gemini-2.5-pro")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element or open a comment inside it."""
    text = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("contextpack.report").joinpath("assets", name).read_text("utf-8")


def pack_html(pack: Pack, title: str = "") -> str:
    """The report of one pack."""
    report = m.pack_report(pack, title)
    return _page(report, _pack_sections(report, pack))


def stats_html(report: m.Report) -> str:
    """The report of ``contextpack stats``."""
    return _page(report, _stats_sections(report))


def _page(report: m.Report, sections: list[str]) -> str:
    heading = ("contextpack report" if report.kind == "pack" else "contextpack stats")
    name = report.root or "sources"
    css = _asset("report.css") + _category_css(report.categories)
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"referrer\" content=\"no-referrer\">\n",
        f"<title>{esc(heading)}: {esc(name)}</title>\n<style>\n{css}</style>\n</head>\n",
        f"<body class=\"{report.kind}\">\n<header><h1>{esc(heading)}: <b>{esc(name)}</b></h1>\n",
        "</header>\n<main>\n", *sections,
        "</main>\n<footer>Made by contextpack. This page is static: it makes no requests "
        "and works offline.</footer>\n<div id=\"tip\" role=\"tooltip\" hidden></div>\n",
        "<script type=\"application/json\" id=\"cp-data\">",
        script_json(m.as_json_rows(report)), "</script>\n<script>\n", _asset("report.js"),
        "</script>\n</body>\n</html>\n",
    ])


def _category_css(categories: Iterable[tuple[str, str, str]]) -> str:
    """Colours per category; skipped files are hatched (they hold no counted tokens)."""
    out = []
    for k, _, c in categories:
        if k in m.SKIP_KEYS:
            out.append(f"#tm-rects .c-{k}{{fill:url(#p-{k})}} .k-{k}{{background:"
                       f"repeating-linear-gradient(135deg,{c} 0 2px,#f1f3f5 2px 5px)}}\n")
        else:
            out.append(f"#tm-rects .c-{k}{{fill:{c}}} .k-{k}{{background:{c}}}\n")
    return "".join(out)


def _patterns() -> str:
    return "".join(
        f"<pattern id=\"p-{k}\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" "
        f"patternTransform=\"rotate(45)\"><path d=\"M0 0h4v4h-4z\" fill=\"#f1f3f5\"/>"
        f"<path d=\"M0 0h1.6v4h-1.6z\" fill=\"{c}\"/></pattern>"
        for k, _, c in m.SKIP_CATEGORIES)


# ------------------------------------------------------------------ sections
def _pack_sections(report: m.Report, pack: Pack) -> list[str]:
    return [_summary(report, pack), _budget_bar(report, pack), _treemap_section(report),
            _items_table(report), _left_out_table(report), _skipped_table(report)]


def _stats_sections(report: m.Report) -> list[str]:
    return [_stats_summary(report), _windows(report), _treemap_section(report),
            _largest(report), _mass(report), _skipped_table(report)]


def _fmt(n: int) -> str:
    return f"{n:,}"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _usd(v: object) -> str:
    if not isinstance(v, (int, float)):
        return "n/a"
    return f"${v:,.2f}" if v >= 1 else f"${v:.4f}"


def _dl(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<div><dt>{esc(k)}</dt><dd>{v}</dd></div>" for k, v in rows)
    return f"<dl class=\"facts\">{cells}</dl>\n"


def _summary(report: m.Report, pack: Pack) -> str:
    query = pack.query.strip()
    q = (f"<blockquote class=\"query\">{esc(query)}</blockquote>\n" if query else
         "<p class=\"query none\">No query: ranked by structure (how much of the code "
         "refers to each part).</p>\n")
    source = report.source_tokens
    ratio = f"{source / pack.tokens:,.1f}x smaller" if pack.tokens else "n/a"
    rows = [
        ("budget", f"{_fmt(pack.budget)} tokens"),
        ("pack", f"{_fmt(pack.tokens)} tokens ({pack.tokens / pack.budget:.1%} of the budget)"),
        ("repository", f"{_fmt(source)} tokens in {_fmt(len(pack.files))} files"),
        ("compression", esc(ratio)),
        ("tokenizer", esc(pack.encoding)),
        ("model", esc(pack.model or "none named (--model)")),
    ]
    if pack.reserve_output_tokens:
        rows.insert(1, ("reserved for the answer", f"{_fmt(pack.reserve_output_tokens)} tokens"))
    return ("<section id=\"summary\">\n<h2>The pack</h2>\n" + q + _dl(rows) + _cost(pack, source)
            + "</section>\n")


def _cost(pack: Pack, source: int) -> str:
    from ..models import PRICES_AS_OF, estimate_cost

    costs = [pack.stats["cost"]] if pack.stats.get("cost") else [
        estimate_cost(name, source, pack.tokens) for name in REFERENCE_MODELS]
    rows = "".join(
        f"<tr><td>{esc(c['model'])}</td><td class=\"n\">{_usd(c.get('pack_usd'))}</td>"
        f"<td class=\"n\">{_usd(c.get('sources_usd'))}</td>"
        f"<td class=\"n\">{_usd(c.get('saved_usd'))}</td></tr>" for c in costs)
    note = ("" if pack.stats.get("cost") else
            " No model was named, so a few are shown; their tokens are counted with "
            f"{esc(pack.encoding)}, so the figures are approximate.")
    return ("<table class=\"cost\"><caption>Estimated input cost, once, at list prices of "
            f"{esc(PRICES_AS_OF)}.{note}</caption><thead><tr><th>model</th>"
            "<th class=\"n\">the pack</th><th class=\"n\">everything</th>"
            f"<th class=\"n\">saved</th></tr></thead><tbody>{rows}</tbody></table>\n")


def _budget_bar(report: m.Report, pack: Pack) -> str:
    spent = report.spent
    assert spent is not None
    by_view: Counter[str] = Counter()
    for i, n in zip(pack.items, spent.items, strict=True):
        by_view[i.view] += n
    free = max(0, pack.budget - pack.tokens)
    parts = [("full", "full bodies", by_view["full"]),
             ("skeleton", "skeletons", by_view["skeleton"]),
             ("mention", "mentions", by_view["mention"]),
             ("files", "file headings", sum(spent.files.values())),
             ("header", "the pack's header", spent.header),
             ("free", "unused", free)]
    total = pack.budget + pack.reserve_output_tokens
    if pack.reserve_output_tokens:
        parts.append(("reserve", "reserved for the answer", pack.reserve_output_tokens))
    counts: Counter[str] = Counter(str(i.view) for i in pack.items)
    segs, keys = [], []
    for key, label, n in parts:
        share = n / total if total else 0.0
        if n:
            segs.append(f"<span class=\"seg k-{key}\" style=\"width:{share * 100:.3f}%\" "
                        f"title=\"{esc(label)}: {_fmt(n)} tokens\"></span>")
        extra = (f", {counts[key]} item{'s' if counts[key] != 1 else ''}" if key in counts
                 else "")
        keys.append(f"<li><i class=\"sw k-{key}\"></i>{esc(label)} <b>{_fmt(n)}</b>"
                    f" <small>({share:.1%}{extra})</small></li>")
    how = ("Each item counted as rendered: its label line and code fence included."
           if spent.exact else "Approximate: the items' estimated costs, scaled to the total.")
    return ("<section id=\"budget\">\n<h2>Where the budget went</h2>\n"
            f"<div class=\"bar\" role=\"img\" aria-label=\"budget by view\">{''.join(segs)}"
            f"</div>\n<ul class=\"keys\">{''.join(keys)}</ul>\n<p class=\"hint\">{how}</p>\n"
            "</section>\n")


def _treemap_section(report: m.Report) -> str:
    rows = report.files
    sizes = [max(f.tokens, 1) for f in rows]
    root, folders = build_tree([f.path for f in rows], sizes)
    rects = layout(root)
    totals = report.totals()
    counts = Counter(f.category for f in rows)
    legend = "".join(
        f"<li data-cat=\"{k}\" title=\"click: only these\"><i class=\"sw k-{k}\"></i>"
        f"{esc(label)} <small>"
        f"{_fmt(counts[k])} files, {'~' if k in m.SKIP_KEYS else ''}{_fmt(totals.get(k, 0))} "
        "tokens</small></li>" for k, label, _ in report.categories if counts[k])
    legend += ("<li><i class=\"sw redacted\"></i>has secrets redacted</li>"
               if any(f.redactions for f in rows) else "")
    what = ("what went into the pack" if report.kind == "pack" else "what kind of file it is")
    folder_rows = _folder_rows(folders, rows)
    every = " (every item, with its signals)" if report.kind == "pack" else ""
    share = (" (a packed file is pale above the share of its tokens that the pack holds)"
             if report.kind == "pack" else "")
    return ("<section id=\"map\">\n<h2>Where the tokens are</h2>\n"
            f"<p class=\"hint\">Each rect is a file, its area its tokens, its colour {what}"
            f"{share}; folders nest. Hover for details, click to zoom into a folder (Esc or "
            "the path above the map to zoom out), click a file to keep its details below, "
            "click a colour below the map to pick out its files. Skipped "
            f"files are drawn at their size in bytes / {m.BYTES_PER_TOKEN}.</p>\n"
            f"<nav id=\"crumbs\" aria-label=\"zoom\"></nav>\n{_svg(rects, report)}\n"
            f"<ul class=\"legend\">{legend}</ul>\n"
            f"<div id=\"details\" class=\"details\"><p class=\"hint\">Click a file in the map "
            f"to keep its details here{every}.</p></div>\n"
            f"<script type=\"application/json\" id=\"cp-folders\">{script_json(folder_rows)}"
            "</script>\n</section>\n")


def _folder_rows(folders: Sequence[Node], files: Sequence[m.FileRow]) -> list[list[Any]]:
    """[path, tokens, files] of each folder: counted tokens only, skipped files not."""
    out: list[list[Any]] = []
    for node in folders:
        tokens = count = 0
        stack = [node]
        while stack:
            n = stack.pop()
            if n.file >= 0:
                f = files[n.file]
                tokens += 0 if f.skipped else f.tokens
                count += 1
            else:
                stack.extend(n.children)
        out.append([node.path, tokens, count])
    return out


def _svg(rects: Sequence[Rect], report: m.Report) -> str:
    out = [f"<svg id=\"tm\" viewBox=\"0 0 {num(WIDTH)} {num(HEIGHT)}\" "
           "preserveAspectRatio=\"xMidYMid meet\" role=\"img\" "
           "aria-label=\"treemap of tokens by folder and file\">"
           f"<defs>{_patterns()}</defs><g id=\"tm-rects\">"]
    for r in rects:
        geo = f"x=\"{num(r.x)}\" y=\"{num(r.y)}\" width=\"{num(r.w)}\" height=\"{num(r.h)}\""
        if r.kind == "f":
            f = report.files[r.ref]
            share = min(1.0, f.packed / f.tokens) if f.packed and f.tokens else 0.0
            cls = f"f c-{f.category}" + (" red" if f.redactions else "")
            if share < 0.995 and f.packed:
                cls += " tint"  # light, with the share of it in the pack solid below
            out.append(f"<rect class=\"{cls}\" data-i=\"{r.ref}\" {geo}/>")
            if " tint" in cls:
                h = r.h * share
                out.append(f"<rect class=\"share c-{f.category}\" x=\"{num(r.x)}\" "
                           f"y=\"{num(r.y + r.h - h)}\" width=\"{num(r.w)}\" "
                           f"height=\"{num(h)}\"/>")
        elif r.kind == "d":
            out.append(f"<rect class=\"d\" data-f=\"{r.ref}\" {geo}/>")
        else:
            out.append(f"<rect class=\"a\" data-f=\"{r.ref}\" data-n=\"{r.count}\" {geo}/>")
    out.append("</g><g id=\"tm-labels\"></g></svg>")
    return "".join(out)


def _items_table(report: m.Report) -> str:
    rows = []
    path = None
    shown = list(zip(report.items, report.item_tokens, strict=True))[:TABLE_ROWS]
    per_file = Counter(i.path for i, _ in shown)
    tokens_of: Counter[str] = Counter()
    for i, n in shown:
        tokens_of[i.path] += n
    row_of = {f.path: k for k, f in enumerate(report.files)}
    for i, n in shown:
        c = i.chunk
        if c.path != path:
            path = c.path
            rows.append(f"<tr class=\"file\" data-i=\"{row_of.get(path, -1)}\" title=\"show "
                        "in the map\"><td colspan=\"6\"><span class=\"loc\">"
                        f"{esc(path)}</span> <small>{_plural(per_file[path], 'item')}, "
                        f"{_fmt(tokens_of[path])} tokens</small></td></tr>")
        span = f"L{c.start_line}" + (f"-{c.end_line}" if c.end_line != c.start_line else "")
        rows.append(
            f"<tr><td class=\"loc nw\">{span}</td><td class=\"sym\">{esc(c.label)}</td>"
            f"<td class=\"nw\"><i class=\"sw k-{i.view}\"></i>{i.view}</td>"
            f"<td class=\"n\">{_fmt(n)}</td><td class=\"n\">{i.score:.3f}</td>"
            f"<td class=\"why\">{esc(i.reason)}</td></tr>")
    more = len(report.items) - TABLE_ROWS + report.more_items
    tail = (f"<p class=\"hint\">{_fmt(more)} more items are not listed.</p>" if more > 0 else "")
    return ("<section id=\"items\">\n<h2>The items packed</h2>\n<p class=\"hint\">By file "
            "then line, as in the pack. Tokens: the item as rendered (label and fences "
            "included). Why: each signal's weight x scaled score, then the score, as "
            "<code>--explain</code> prints it.</p>\n<table class=\"rows items\">"
            "<thead><tr><th>lines</th><th>symbol</th><th>view</th><th class=\"n\">tokens</th>"
            "<th class=\"n\">score</th><th>why</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>\n" + tail + "</section>\n")


def _left_out_table(report: m.Report) -> str:
    rows = []
    for d in report.left_out[:LEFT_OUT_ROWS]:
        c = d.chunk
        rows.append(f"<tr><td class=\"loc\">{esc(c.path)}:{c.start_line}-{c.end_line}</td>"
                    f"<td>{esc(c.label)}</td><td class=\"n\">{d.score:.3f}</td>"
                    f"<td class=\"why\">{esc(d.reason)}</td></tr>")
    if not rows:
        return ""
    return ("<section id=\"left\">\n<h2>The best chunks left out</h2>\n<table class=\"rows\">"
            "<thead><tr><th>where</th><th>symbol</th><th class=\"n\">score</th><th>why</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>\n</section>\n")


def _skipped_table(report: m.Report) -> str:
    skipped = [f for f in report.files if f.skipped]
    if not skipped:
        return ""
    by_reason: dict[str, list[m.FileRow]] = {}
    for f in skipped:
        by_reason.setdefault(reason_headline(f.skipped), []).append(f)
    rows = "".join(
        f"<tr><td><i class=\"sw k-{fs[0].category}\"></i>{esc(reason)}</td>"
        f"<td class=\"n\">{_fmt(len(fs))}</td><td class=\"n\">{_fmt(sum(f.size for f in fs))}"
        f"</td><td class=\"loc\">{esc(', '.join(_largest_paths(fs, 3)))}</td></tr>"
        for reason, fs in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])))
    return ("<section id=\"skipped\">\n<h2>Skipped files</h2>\n<p class=\"hint\">Never "
            "chunked or counted; ignored files (.gitignore, --exclude) are not walked and "
            "not shown.</p>\n<table class=\"rows\"><thead><tr><th>why</th><th class=\"n\">"
            "files</th><th class=\"n\">bytes</th><th>largest</th></tr></thead><tbody>"
            + rows + "</tbody></table>\n</section>\n")


def _largest_paths(rows: Sequence[m.FileRow], n: int) -> list[str]:
    return [f.path for f in sorted(rows, key=lambda f: (-f.size, f.path))[:n]]


# ------------------------------------------------------------------ stats
def _stats_summary(report: m.Report) -> str:
    indexed = [f for f in report.files if not f.skipped]
    total = report.source_tokens
    langs: Counter[str] = Counter()
    for f in indexed:
        langs[f.language] += f.tokens
    top = ", ".join(f"{esc(k)} {v / total:.0%}" for k, v in
                    sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))[:5]) if total else ""
    rows = [("tokens", _fmt(total)), ("files", f"{_fmt(len(indexed))} indexed, "
            f"{_fmt(len(report.files) - len(indexed))} skipped"),
            ("tokenizer", esc(report.encoding)), ("languages", top or "none")]
    return "<section id=\"summary\">\n<h2>The repository</h2>\n" + _dl(rows) + "</section>\n"


def _windows(report: m.Report) -> str:
    total = report.source_tokens
    rows = []
    for name, size in CONTEXT_SIZES:
        share = min(1.0, size / total) if total else 1.0
        verdict = "fits" if total <= size else f"{total / size:,.1f}x over"
        rows.append(f"<tr><td>{name}</td><td class=\"n\">{_fmt(size)}</td><td>{verdict}</td>"
                    f"<td class=\"barcell\"><span class=\"fill\" style=\"width:"
                    f"{share * 100:.3f}%\"></span></td><td class=\"n\">{share:.1%}</td></tr>")
    return ("<section id=\"windows\">\n<h2>Against common context windows</h2>\n<table "
            "class=\"rows windows\"><thead><tr><th>window</th><th class=\"n\">tokens</th><th>"
            "verdict</th><th>share of the repository it holds</th><th class=\"n\"></th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table>\n</section>\n")


def _largest(report: m.Report) -> str:
    total = report.source_tokens or 1
    files = sorted((f for f in report.files if not f.skipped),
                   key=lambda f: (-f.tokens, f.path))[:TOP_ROWS]
    frows = "".join(f"<tr><td class=\"swc\"><i class=\"sw k-{f.category}\" title=\""
                    f"{esc(f.category)}\"></i></td><td class=\"loc\">{esc(f.path)}"
                    f"</td><td class=\"n\">{_fmt(f.tokens)}</td><td class=\"n\">"
                    f"{f.tokens / total:.1%}</td></tr>" for f in files)
    folders = sorted(m.folder_sizes(report, 3), key=lambda t: (-t[1], t[0]))[:TOP_ROWS]
    drows = "".join(f"<tr><td class=\"loc\">{esc(p)}/</td><td class=\"n\">{_fmt(t)}</td>"
                    f"<td class=\"n\">{_fmt(n)}</td><td class=\"n\">{t / total:.1%}</td></tr>"
                    for p, t, n in folders)
    return ("<section id=\"largest\" class=\"two\">\n<div><h2>Largest files</h2><table "
            "class=\"rows\"><thead><tr><th></th><th>file</th><th class=\"n\">tokens</th>"
            "<th class=\"n\">share</th></tr></thead><tbody>" + frows
            + "</tbody></table></div>\n<div><h2>Largest folders</h2><table class=\"rows\">"
            "<thead><tr><th>folder (3 levels)</th>"
            "<th class=\"n\">tokens</th><th class=\"n\">files</th><th class=\"n\">share</th>"
            "</tr></thead><tbody>" + drows + "</tbody></table></div>\n</section>\n")


def _mass(report: m.Report) -> str:
    vendored = [f for f in report.files if f.category == "vendored"]
    generated = [f for f in report.files if f.category == "generated"]
    vtok = sum(f.tokens for f in vendored)
    gbytes = sum(f.size for f in generated)
    total = report.source_tokens or 1
    top_v: Counter[str] = Counter()
    for f in vendored:
        parts = f.path.split("/")
        cut = next(k for k, p in enumerate(parts) if p in m.VENDOR_DIRS)
        top_v["/".join(parts[: cut + 2 if cut + 2 < len(parts) else cut + 1])] += f.tokens
    vlist = ", ".join(f"{esc(p)}/ ({_fmt(t)})" for p, t in
                      sorted(top_v.items(), key=lambda kv: (-kv[1], kv[0]))[:6])
    glist = esc(", ".join(_largest_paths(generated, 6)))
    rows = [("vendored", f"{_fmt(vtok)} tokens in {_fmt(len(vendored))} files "
             f"({vtok / total:.1%} of the tokens){': ' + vlist if vlist else ''}"),
            ("generated or minified", f"{_fmt(len(generated))} files, {_fmt(gbytes)} bytes, "
             f"skipped{': ' + glist if glist else ''}")]
    return ("<section id=\"mass\">\n<h2>Generated and vendored mass</h2>\n<p class=\"hint\">"
            "Vendored: files under a folder named vendor, third_party, node_modules... "
            "Exclude them (<code>--exclude 'vendor/'</code>) if they are not yours to "
            "explain.</p>\n" + _dl(rows) + "</section>\n")
