"""What every format shares: the ``Renderer`` protocol, the ``Header`` a pack opens with,
the header's sentences, and the walk that turns items into blocks.

In: a pack's items (ordered by path then line), a ``Header``, and a ``Renderer``. Out:
the blocks of text in output order, and the text they join into. A format (one module
beside this one) says how each piece is spelled and escaped; this module says which
pieces there are and in what order, so the fit can count exactly what is rendered.

Rendering is a pure function of its inputs: numbers formatted the same way every time,
no clock, no absolute paths.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..types import Chunk, Dropped, Item, Skipped

if TYPE_CHECKING:
    from ..contract import JsonStats

_BACKTICKS = re.compile(r"`{3,}")
QUERY_PREVIEW_CHARS = 160


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


class Renderer(Protocol):
    """What a format provides. Each piece of text it returns ends in a newline and
    starts with a non-space (tiktoken-style tokenizers split there, so the pieces'
    token counts add up); it escapes every user string it embeds (paths, symbols, the
    query) so the document stays well-formed."""

    name: str  # as given to --format
    extension: str  # of a file holding it, e.g. ".md"
    media_type: str  # e.g. "text/markdown"

    def header(self, h: Header) -> str:
        """The opening lines: budget, tokens, query, counts, what was left out and why."""
        ...

    def file_header(self, path: str) -> str:
        """What comes before the first item of a file."""
        ...

    def file_footer(self) -> str:
        """What comes after the last item of a file ("" when nothing closes it)."""
        ...

    def item(self, item: Item, previous: Item | None) -> str:
        """One item in its view (full, skeleton or mention); ``previous`` is the item
        before it in the same file, if any (its class header need not be repeated)."""
        ...

    def whole_file(self, items: Sequence[Item]) -> str:
        """A file all of whose chunks are in full, as one block (header included)."""
        ...

    def join(self, head: str, blocks: Sequence[str]) -> str:
        """The header and the blocks as the final text."""
        ...

    def counted(self, blocks: list[str]) -> list[str]:
        """The pieces of ``join``'s text after the header, as it ends: their token
        counts sum to the body's (what the fit counts without rendering it whole)."""
        ...

    def document(self, context: str, header: Header, *, items: Sequence[Item],
                 stats: JsonStats, dropped: Sequence[Dropped], skipped: Sequence[Skipped],
                 in_context: Sequence[Chunk]) -> str:
        """The output: the context text itself, or an envelope around it (json)."""
        ...


def query_preview(query: str) -> str:
    """The query's first line, shortened: repeating a long issue text would waste budget."""
    line = " ".join(query.strip().split("\n", 1)[0].split())
    if len(line) > QUERY_PREVIEW_CHARS:
        line = line[: QUERY_PREVIEW_CHARS - 1].rstrip() + "…"
    if "\n" in query.strip() and not line.endswith("…"):
        line += " …"
    return line


def summary_line(h: Header) -> str:
    """What is in the pack by view, and the account of what was left out or skipped."""
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


def mode_line(h: Header) -> str:
    """The query, or that there was none and ranking went by structure."""
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
    """``L3-15 function name (skeleton)``: where an item is and which view it shows."""
    c = item.chunk
    span = f"L{c.start_line}" if c.start_line == c.end_line else f"L{c.start_line}-{c.end_line}"
    name = f" {c.label}" if c.symbol else ""
    tag = {"full": "", "skeleton": " (skeleton)", "mention": " (mention)"}[item.view]
    return f"{span} {c.kind}{name}{tag}"


def context_lines(item: Item, previous: Item | None) -> str:
    """The enclosing class header, unless the item right before already showed it."""
    c = item.chunk
    if not c.context or item.view == "mention":
        return ""
    if previous is not None and previous.chunk.path == c.path and previous.view != "mention":
        p = previous.chunk
        if p.context == c.context or (p.symbol == c.parent and p.kind == "class"):
            return ""
    return c.context + "\n"


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


def file_frame(renderer: Renderer, path: str) -> str:
    """What a file costs besides its items: its header and footer."""
    return renderer.file_header(path) + renderer.file_footer()


def blocks(items: Sequence[Item], renderer: Renderer,
           whole: Collection[str] = frozenset()) -> list[str]:
    """Blocks in output order: file headers, items and file footers. Files in ``whole``
    (every chunk in full, in ``items``) are one block each."""
    out: list[str] = []
    previous: Item | None = None
    footer = renderer.file_footer()
    k = 0
    while k < len(items):
        item = items[k]
        if item.chunk.path in whole:
            end = k
            while end < len(items) and items[end].chunk.path == item.chunk.path:
                end += 1
            if footer and previous is not None:
                out.append(footer)
            out.append(renderer.whole_file(items[k:end]))
            previous, k = None, end
            continue
        k += 1
        if previous is None or previous.chunk.path != item.chunk.path:
            if footer and previous is not None:
                out.append(footer)
            out.append(renderer.file_header(item.chunk.path))
            previous_in_file = None
        else:
            previous_in_file = previous
        out.append(renderer.item(item, previous_in_file))
        previous = item
    if footer and previous is not None:
        out.append(footer)
    return out


def render(items: Sequence[Item], header: Header, renderer: Renderer,
           whole: Collection[str] = frozenset()) -> str:
    """The context text: the header, then the items."""
    return renderer.join(renderer.header(header), blocks(items, renderer, whole))
