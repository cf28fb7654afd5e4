"""Documents -> chunks: Markdown and reStructuredText by section, keeping the heading path.

Markdown headings come from tree-sitter (so a ``#`` inside a code fence is not a
heading); reStructuredText titles from their adornment lines, as docutils reads them (the
rst grammar took 1.5 s for Django's 535 documents, and lost every title after a simple
table). A section runs from its heading to the next heading of any level, and its symbol
is the path of headings above it (``Usage > Greeting people``).
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from ..types import Chunk, SourceFile
from .code import _end_row, _parser
from .text import has_content, split_run, trim_blank_edges


def _markdown_headings(root: Any) -> list[tuple[int, int, int, str]]:
    """(first row, last row, level, title) of each heading, in order."""
    out = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "atx_heading":
            level = 1
            title = ""
            for child in node.children:
                if child.type.startswith("atx_h") and child.type.endswith("_marker"):
                    level = int(child.type[5])
                elif child.type in ("inline", "heading_content"):
                    title = child.text.decode("utf-8", "replace")
            out.append((node.start_point[0], _end_row(node), level, title.strip()))
            continue
        if node.type == "setext_heading":
            level = 2
            title = ""
            for child in node.children:
                if child.type == "setext_h1_underline":
                    level = 1
                elif child.type in ("paragraph", "inline", "heading_content"):
                    title = child.text.decode("utf-8", "replace")
            out.append((node.start_point[0], _end_row(node), level, title.strip()))
            continue
        if node.type in ("fenced_code_block", "indented_code_block", "html_block"):
            continue
        stack.extend(reversed(node.children))
    out.sort()
    return out


#: A title's over- or underline: one punctuation character repeated (docutils' rule).
_TITLE_LINE = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])\1+[ \t]*""")


def _rst_headings(lines: list[str]) -> list[tuple[int, int, int, str]]:
    """(first row, last row, level, title) of each reStructuredText section title: a
    line with an underline at least as long (or of four characters), or an inset title
    between an overline and an underline alike, after a blank line. Levels follow the
    order in which adornment styles first appear, as in docutils."""
    styles: list[tuple[str, bool]] = []
    out = []
    n = len(lines)
    r = 0
    after_blank = True
    while r < n:
        line = lines[r]
        head = None
        if after_blank and r + 2 < n and _TITLE_LINE.fullmatch(line) and lines[r + 1].strip() \
                and lines[r + 2].rstrip() == line.rstrip():
            head = (r + 2, (line[0], True), lines[r + 1])
        elif after_blank and r + 1 < n and line.strip() and not line[0].isspace() \
                and _TITLE_LINE.fullmatch(lines[r + 1]) and not _TITLE_LINE.fullmatch(line) \
                and len(lines[r + 1].rstrip()) >= min(len(line.rstrip()), 4):
            head = (r + 1, (lines[r + 1][0], False), line)
        if head is None:
            after_blank = not line.strip()
            r += 1
            continue
        end, style, title = head
        if style not in styles:
            styles.append(style)
        out.append((r, end, styles.index(style) + 1, title.strip().lstrip("\ufeff")))
        r, after_blank = end + 1, True
    return out


def chunk_document(src: SourceFile, max_chars: int) -> list[Chunk]:
    """Chunk Markdown or reStructuredText by section."""
    lines = src.text.split("\n")
    if src.language == "markdown":
        data = src.text.encode("utf-8", "surrogatepass")
        headings = _markdown_headings(_parser("markdown").parse(data).root_node)
    else:
        headings = _rst_headings(lines)
    starts = [h[0] for h in headings]
    bounds = [0] + starts if not starts or starts[0] > 0 else starts
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []
    heading_at = {h[0]: h for h in headings}
    for i, s in enumerate(bounds):
        e = (bounds[i + 1] - 1) if i + 1 < len(bounds) else len(lines) - 1
        head = heading_at.get(s)
        if head is not None:
            level, title = head[2], head[3]
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
        span = trim_blank_edges(lines, s, e)
        if span is None or not has_content(lines, *span):
            continue
        symbol = " > ".join(t for _, t in path)
        head_end = head[1] if head is not None else span[0] - 1
        pieces = split_run(lines, span[0], span[1], max_chars,
                           partial(_paragraph_starts, lines, s, e))
        for k, (a, b) in enumerate(pieces, 1):
            text = "\n".join(lines[a : b + 1])
            chunks.append(
                Chunk(
                    path=src.path,
                    start_line=a + 1,
                    end_line=b + 1,
                    kind="section",
                    symbol=symbol,
                    language=src.language,
                    text=text,
                    skeleton=_section_skeleton(lines, a, b, head_end if k == 1 else a - 1,
                                               symbol),
                    part=k if len(pieces) > 1 else 0,
                    parts=len(pieces) if len(pieces) > 1 else 0,
                )
            )
    return chunks


def _paragraph_starts(lines: list[str], s: int, e: int) -> list[int]:
    return [r for r in range(s + 1, e + 1) if lines[r].strip() and not lines[r - 1].strip()]


def _section_skeleton(lines: list[str], a: int, b: int, head_end: int, path: str = "") -> str:
    """The section's heading path (``Usage > Greeting people``) and its first sentence."""
    head = lines[a : max(head_end, a - 1) + 1]
    title = path or " ".join(ln.strip() for ln in head if ln.strip())
    r = max(head_end + 1, a)
    while r <= b and (not lines[r].strip() or set(lines[r].strip()) <= _ADORNMENT):
        r += 1
    para = []
    while r <= b and lines[r].strip():
        para.append(lines[r].strip())
        r += 1
    sentence = first_sentence(" ".join(para))
    rest = bool(para) and (sentence != " ".join(para) or
                           any(lines[x].strip() for x in range(r, b + 1)))
    marker = "#" * max(1, len(path.split(" > "))) + " " if head and head[0].startswith("#") else ""
    out = ([marker + title] if title else []) + ([sentence] if sentence else [])
    return "\n".join(out + (["..."] if rest else [])) if out else lines[a]


_ADORNMENT = set("=-~^\"'`#*+_:.")


def first_sentence(text: str, limit: int = 240) -> str:
    """Up to the first full stop followed by a space (or the limit, cut at a word)."""
    for end in (". ", "? ", "! "):
        at = text.find(end)
        if 0 < at < limit:
            text = text[: at + 1]
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " ..."
    return text
