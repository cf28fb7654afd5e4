"""A pack's items -> text: markdown (default), xml, or json (markdown inside a JSON
envelope that also lists the items and statistics: the machine contract).

Rendering is a pure function of its inputs: items ordered by path then line, numbers
formatted the same way every time, no clock, no absolute paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from .types import Chunk, Dropped, Item, Skipped

FORMATS = ("markdown", "xml", "json")
_BACKTICKS = re.compile(r"`{3,}")
QUERY_PREVIEW_CHARS = 160

_FENCE_LANG = {
    "python": "python", "javascript": "javascript", "typescript": "typescript", "tsx": "tsx",
    "go": "go", "rust": "rust", "java": "java", "c": "c", "cpp": "cpp", "csharp": "csharp",
    "ruby": "ruby", "php": "php", "markdown": "markdown", "rst": "rst", "text": "text",
}


@dataclass(frozen=True, slots=True)
class Header:
    """What the first lines of a rendered pack say."""

    budget: int
    tokens: int
    encoding: str
    query: str
    mode: str  # "query" or "structure"
    counts: dict[str, int] = field(default_factory=dict)
    left_out: int = 0
    left_out_files: int = 0
    skipped_files: int = 0
    #: said beside the encoding, e.g. the margin kept when counting is approximate
    note: str = ""
    # chunks the reader already holds in full (a session's earlier packs): the best of
    # them as "path:start-end symbol", and how many were left out for that in all
    in_context: tuple[str, ...] = ()
    in_context_total: int = 0


def query_preview(query: str) -> str:
    """The query's first line, shortened: repeating a long issue text would waste budget."""
    line = " ".join(query.strip().split("\n", 1)[0].split())
    if len(line) > QUERY_PREVIEW_CHARS:
        line = line[: QUERY_PREVIEW_CHARS - 1].rstrip() + "…"
    if "\n" in query.strip() and not line.endswith("…"):
        line += " …"
    return line


def summary_line(h: Header) -> str:
    c = h.counts
    files = c.get("files", 0)
    shown = (
        f"{c.get('full', 0)} full, {c.get('skeleton', 0)} skeleton (bodies elided), "
        f"{c.get('mention', 0)} mentioned by name only"
    )
    parts = [f"{c.get('items', 0)} items from {files} file{'s' if files != 1 else ''}: {shown}."]
    if h.left_out:
        parts.append(f"Left out: {h.left_out:,} lower-ranked chunks"
                     f" from {h.left_out_files:,} files.")
    if h.skipped_files:
        parts.append(f"Skipped: {h.skipped_files:,} file{'s' if h.skipped_files != 1 else ''} "
                     "(binary, generated, too large...).")
    return " ".join(parts)


def in_context_line(h: Header) -> str:
    """Names the chunks left out because the reader has them already ("" when none)."""
    if not h.in_context_total:
        return ""
    n = h.in_context_total
    line = (f"Already in context, not repeated: {n} chunk{'s' if n != 1 else ''} sent in full "
            "earlier in this session")
    if h.in_context:
        line += ": " + "; ".join(h.in_context)
        if n > len(h.in_context):
            line += f"; and {n - len(h.in_context)} more"
    return line + "."


def _mode_line(h: Header) -> str:
    if h.mode == "structure":
        return "No query: ranked by structure (how much of the code refers to each part)."
    return f"Query: {query_preview(h.query)}"


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks inside the text."""
    if "```" not in text:
        return "```"
    longest = max(len(run) for run in _BACKTICKS.findall(text))
    return "`" * (longest + 1)


def item_label(item: Item) -> str:
    c = item.chunk
    span = f"L{c.start_line}" if c.start_line == c.end_line else f"L{c.start_line}-{c.end_line}"
    name = f" {c.label}" if c.symbol else ""
    kind = c.kind if c.kind not in ("lines", "paragraph") else c.kind
    tag = {"full": "", "skeleton": " (skeleton)", "mention": " (mention)"}[item.view]
    return f"{span} {kind}{name}{tag}"


def _context_lines(item: Item, previous: Item | None) -> str:
    """The enclosing class header, unless the item right before already showed it."""
    c = item.chunk
    if not c.context or item.view == "mention":
        return ""
    if previous is not None and previous.chunk.path == c.path and previous.view != "mention":
        p = previous.chunk
        if p.context == c.context or (p.symbol == c.parent and p.kind == "class"):
            return ""
    return c.context + "\n"


# ----------------------------------------------------------------- markdown
def markdown_file_header(path: str) -> str:
    return f"## {path}\n\n"


def markdown_block(item: Item, previous: Item | None) -> str:
    """One item as markdown, with its trailing blank line."""
    if item.view == "mention":
        return f"- {item_label(item)}\n\n"
    text = item.chunk.view_text(item.view)
    ctx = _context_lines(item, previous)
    if ctx:
        indent = " " * (len(text) - len(text.lstrip(" ")))
        ctx += f"{indent}...\n" if item.chunk.language == "python" else ""
    body = ctx + text
    fence = fence_for(body)
    lang = _FENCE_LANG.get(item.chunk.language, "")
    return f"{item_label(item)}\n{fence}{lang}\n{body}\n{fence}\n\n"


def markdown_header(h: Header) -> str:
    counted = f"{h.encoding}; {h.note}" if h.note else h.encoding
    held = in_context_line(h)
    return (
        f"# Context: {h.tokens:,} of {h.budget:,} tokens ({counted})\n"
        f"{_mode_line(h)}\n{summary_line(h)}\n" + (f"{held}\n" if held else "") + "\n"
    )


# ---------------------------------------------------------------------- xml
# Characters XML 1.0 cannot hold, even in CDATA: most C0 controls, lone surrogates, and
# U+FFFE/U+FFFF. Shown as U+FFFD so the document stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _xml_attr(value: str) -> str:
    return (_xml_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", " "))


def _cdata(text: str) -> str:
    return "<![CDATA[" + _xml_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_file_header(path: str) -> str:
    return f'<file path="{_xml_attr(path)}">\n'


XML_FILE_FOOTER = "</file>\n"


def xml_block(item: Item, previous: Item | None) -> str:
    c = item.chunk
    span = f"{c.start_line}-{c.end_line}"
    attrs = f'lines="{span}" kind="{c.kind}"'
    if c.symbol:
        attrs += f' symbol="{_xml_attr(c.label)}"'
    if item.view == "mention":
        return f"<mention {attrs}/>\n"
    ctx = _context_lines(item, previous)
    body = ctx + c.view_text(item.view)
    return f'<chunk {attrs} view="{item.view}">\n{_cdata(body)}\n</chunk>\n'


def xml_header(h: Header) -> str:
    mode = "" if h.mode == "query" else ' ranking="structure"'
    if h.note:
        mode += f' note="{_xml_attr(h.note)}"'
    query = f"<query>{_cdata(query_preview(h.query))}</query>\n" if h.mode == "query" else ""
    return (
        f'<context budget="{h.budget}" tokens="{h.tokens}" '
        f'encoding="{_xml_attr(h.encoding)}"{mode}>\n'
        f"{query}<summary>{_xml_attr(summary_line(h))}</summary>\n"
    ) + (f"<in_context>{_xml_attr(in_context_line(h))}</in_context>\n"
         if h.in_context_total else "")


XML_FOOTER = "</context>\n"


# --------------------------------------------------------------- whole files
def whole_file_text(items: Sequence[Item]) -> str:
    """A file's text from all its chunks (in order): the lines between chunks hold no
    content (chunkers cover every line that does), so they come back as blank lines."""
    parts: list[str] = []
    end = 0
    for item in items:
        c = item.chunk
        if parts:
            parts.append("\n" * max(c.start_line - end, 1))
        parts.append(c.text)
        end = c.end_line
    return "".join(parts)


def whole_file_block(items: Sequence[Item], fmt: str) -> str:
    """All of one file in one block: one header per file instead of one per chunk."""
    first, last = items[0].chunk, items[-1].chunk
    text = whole_file_text(items)
    if fmt == "xml":
        return (f'<file path="{_xml_attr(first.path)}" lines="{first.start_line}-'
                f'{last.end_line}">\n{_cdata(text)}\n</file>\n')
    fence = fence_for(text)
    lang = _FENCE_LANG.get(first.language, "")
    return f"{markdown_file_header(first.path)}{fence}{lang}\n{text}\n{fence}\n\n"


# ------------------------------------------------------------------ assembly
def render_body(items: Sequence[Item], fmt: str,
                whole: Collection[str] = frozenset()) -> list[str]:
    """Blocks in output order: file headers and items (footers for xml). Files in
    ``whole`` (every chunk in full, in ``items``) are one block each."""
    out: list[str] = []
    previous: Item | None = None
    xml = fmt == "xml"
    k = 0
    while k < len(items):
        item = items[k]
        if item.chunk.path in whole:
            end = k
            while end < len(items) and items[end].chunk.path == item.chunk.path:
                end += 1
            if xml and previous is not None:
                out.append(XML_FILE_FOOTER)
            out.append(whole_file_block(items[k:end], fmt))
            previous, k = None, end
            continue
        k += 1
        if previous is None or previous.chunk.path != item.chunk.path:
            if xml and previous is not None:
                out.append(XML_FILE_FOOTER)
            path = item.chunk.path
            out.append(xml_file_header(path) if xml else markdown_file_header(path))
            previous_in_file = None
        else:
            previous_in_file = previous
        block = xml_block if xml else markdown_block
        out.append(block(item, previous_in_file))
        previous = item
    if xml and previous is not None:
        out.append(XML_FILE_FOOTER)
    return out


def header_text(header: Header, fmt: str) -> str:
    return xml_header(header) if fmt == "xml" else markdown_header(header)


def join_text(head: str, blocks: Sequence[str], fmt: str) -> str:
    """Header and blocks as the final text."""
    if fmt == "xml":
        return head + "".join(blocks) + XML_FOOTER
    return (head + "".join(blocks)).rstrip("\n") + "\n"


def render_text(items: Sequence[Item], header: Header, fmt: str,
                whole: Collection[str] = frozenset()) -> str:
    """The context text in markdown or xml (json wraps the markdown text)."""
    return join_text(header_text(header, fmt), render_body(items, fmt, whole), fmt)


def block_text(item: Item, previous: Item | None, fmt: str) -> str:
    return xml_block(item, previous) if fmt == "xml" else markdown_block(item, previous)


def file_header_text(path: str, fmt: str) -> str:
    if fmt == "xml":
        return xml_file_header(path) + XML_FILE_FOOTER
    return markdown_file_header(path)


JSON_LEFT_OUT = 20  # the best chunks left out, listed in the json contract


def render_json(context: str, header: Header, items: Sequence[Item], stats: dict[str, Any],
                dropped: Sequence[Dropped] = (), skipped: Sequence[Skipped] = (),
                in_context: Sequence[Chunk] = ()) -> str:
    """The machine contract: context text plus items, the best chunks left out (with
    why), the files skipped before ranking (with why), the chunks left out because a
    session already holds them (only when some were), and statistics."""
    doc = {
        "budget": header.budget,
        "tokens": header.tokens,
        "encoding": header.encoding,
        "query": header.query,
        "context": context,
        "items": [i.as_dict() for i in items],
        "left_out": [{"path": d.chunk.path, "start_line": d.chunk.start_line,
                      "end_line": d.chunk.end_line, "symbol": d.chunk.label,
                      "score": round(d.score, 6), "reason": d.reason}
                     for d in dropped[:JSON_LEFT_OUT]],
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "stats": stats,
    }
    if in_context:
        doc["already_in_context"] = [{"path": c.path, "start_line": c.start_line,
                                      "end_line": c.end_line, "symbol": c.label}
                                     for c in in_context]
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
