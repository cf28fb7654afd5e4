"""HTML -> chunks of its visible text, one per section (a heading to the next).

Scripts, styles, comments, templates and inline SVG are dropped; tags go, text stays.
A chunk's text holds one line per source line that shows text, so its line span still
points into the HTML file; its symbol is the path of headings above it.
"""

from __future__ import annotations

import html
import re
from typing import Any

from ..types import Chunk, SourceFile
from .code import _parser
from .docs import first_sentence

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


def chunk_html(src: SourceFile, max_chars: int) -> list[Chunk]:
    """Chunk an HTML page by section into its visible text."""
    root = _parser("html").parse(src.text.encode("utf-8", "surrogatepass")).root_node
    rows, headings, title = _visible(root)
    heading_rows = {h[0]: h for h in headings}
    sections: list[tuple[str, list[int]]] = []
    path: list[tuple[int, str]] = [(0, title)] if title else []
    current: list[int] = []
    for row in sorted(rows):
        head = heading_rows.get(row)
        if head is not None:
            if current:
                sections.append((" > ".join(t for _, t in path), current))
            while path and path[-1][0] >= head[1]:
                path.pop()
            path.append((head[1], head[2]))
            current = []
        current.append(row)
    if current:
        sections.append((" > ".join(t for _, t in path), current))
    chunks: list[Chunk] = []
    for symbol, section_rows in sections:
        for piece in _pieces(section_rows, rows, max_chars):
            text = "\n".join(_TIGHT.sub(r"\1", " ".join(rows[r])) for r in piece)
            chunks.append(Chunk(
                path=src.path, start_line=piece[0] + 1, end_line=piece[-1] + 1,
                kind="section", symbol=symbol, language=src.language, text=text,
                skeleton=_skeleton(symbol, text)))
    return chunks


def _pieces(section: list[int], rows: dict[int, list[str]], max_chars: int) -> list[list[int]]:
    out: list[list[int]] = [[]]
    size = 0
    for r in section:
        n = sum(len(p) + 1 for p in rows[r])
        if out[-1] and size + n > max_chars:
            out.append([])
            size = 0
        out[-1].append(r)
        size += n
    return [p for p in out if p]


def _skeleton(symbol: str, text: str) -> str:
    lines = text.split("\n")
    body = " ".join(lines[1:] if symbol and lines[0] == symbol.rsplit(" > ", 1)[-1] else lines)
    sentence = first_sentence(body)
    out = [symbol] if symbol else []
    out += [sentence] if sentence else []
    return "\n".join(out + (["..."] if sentence != body else []))
