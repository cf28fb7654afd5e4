"""HTML -> its visible text, line for line, chunked as Markdown by section.

Scripts, styles, comments, templates and inline SVG are dropped; tags go, text stays.
Each line keeps its line number in the HTML file (a line showing nothing is blank), so
chunks are exact lines of the text that is indexed and still point into the page.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .code import _parser

_HIDDEN = frozenset({"script_element", "style_element", "comment", "doctype"})
_HIDDEN_TAGS = frozenset({"template", "svg", "head"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TIGHT = re.compile(r"\s+([.,;:!?)\]])")


def _tag(node: Any) -> str:
    start = node.child(0)
    if start is None or start.type not in ("start_tag", "self_closing_tag"):
        return ""
    for child in start.children:
        if child.type == "tag_name":
            return child.text.decode("utf-8", "replace").lower()
    return ""


def _visible(root: Any) -> tuple[dict[int, list[str]], list[tuple[int, int, str]], str]:
    """Visible text by row, headings as (row, level, title), and the <title>."""
    rows: dict[int, list[str]] = {}
    headings: list[tuple[int, int, str]] = []
    title = ""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in _HIDDEN:
            continue
        if node.type == "element":
            tag = _tag(node)
            if tag == "title":
                title = _flat(node)
            if tag in _HIDDEN_TAGS:
                continue
            if tag in _HEADINGS:
                headings.append((node.start_point[0], _HEADINGS[tag], _flat(node)))
        if node.type in ("text", "entity"):
            text = html.unescape(node.text.decode("utf-8", "replace"))
            for k, part in enumerate(text.split("\n")):
                if part.strip():
                    rows.setdefault(node.start_point[0] + k, []).append(part.strip())
            continue
        stack.extend(reversed(node.children))
    return rows, sorted(headings), title


def _flat(node: Any) -> str:
    parts = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in _HIDDEN:
            continue
        if n.type in ("text", "entity"):
            parts.append(html.unescape(n.text.decode("utf-8", "replace")).strip())
            continue
        stack.extend(reversed(n.children))
    return _TIGHT.sub(r"\1", " ".join(p for p in parts if p))


def html_text(text: str) -> str:
    """An HTML page's visible text, line for line: each line of the result holds the
    text shown from that line of the page (headings as Markdown ``#`` headings), so
    line numbers still point into the HTML file and sections split as Markdown's do."""
    root = _parser("html").parse(text.encode("utf-8", "surrogatepass")).root_node
    rows, headings, _title = _visible(root)
    out = [""] * (text.count("\n") + 1)
    for r, parts in rows.items():
        if r < len(out):
            out[r] = _TIGHT.sub(r"\1", " ".join(parts)).lstrip("#>-*+ \t")
    for r, level, heading in headings:
        if r < len(out) and heading:
            out[r] = "#" * level + " " + heading
    return "\n".join(out)
