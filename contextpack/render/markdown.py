"""The markdown format (the default): a heading per file, a fenced block per item.

In: a ``Header`` and items (see ``base.Renderer``). Out: markdown text. User text is
kept safe by fences longer than any run of backticks inside the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..types import Chunk, Dropped, Item, Skipped
from .base import (
    Header,
    context_lines,
    fence_for,
    in_context_line,
    item_label,
    mode_line,
    summary_line,
    whole_file_text,
)

if TYPE_CHECKING:
    from ..contract import JsonStats

#: The info string of a fenced block, by chunker language.
FENCE_LANG = {
    "python": "python", "javascript": "javascript", "typescript": "typescript", "tsx": "tsx",
    "go": "go", "rust": "rust", "java": "java", "c": "c", "cpp": "cpp", "csharp": "csharp",
    "ruby": "ruby", "php": "php", "markdown": "markdown", "rst": "rst", "text": "text",
}


class MarkdownRenderer:
    """``# Context`` header, ``## path`` per file, a label and a fenced block per item."""

    name = "markdown"
    extension = ".md"
    media_type = "text/markdown"

    def header(self, h: Header) -> str:
        counted = f"{h.encoding}; {h.note}" if h.note else h.encoding
        held = in_context_line(h)
        return (
            f"# Context: {h.tokens:,} of {h.budget:,} tokens ({counted})\n"
            f"{mode_line(h)}\n{summary_line(h)}\n" + (f"{held}\n" if held else "") + "\n"
        )

    def file_header(self, path: str) -> str:
        return f"## {path}\n\n"

    def file_footer(self) -> str:
        return ""

    def item(self, item: Item, previous: Item | None) -> str:
        """One item, with its trailing blank line; a mention is one list line."""
        if item.view == "mention":
            return f"- {item_label(item)}\n\n"
        text = item.chunk.view_text(item.view)
        ctx = context_lines(item, previous)
        if ctx:
            indent = " " * (len(text) - len(text.lstrip(" ")))
            ctx += f"{indent}...\n" if item.chunk.language == "python" else ""
        body = ctx + text
        fence = fence_for(body)
        lang = FENCE_LANG.get(item.chunk.language, "")
        return f"{item_label(item)}\n{fence}{lang}\n{body}\n{fence}\n\n"

    def whole_file(self, items: Sequence[Item]) -> str:
        first = items[0].chunk
        text = whole_file_text(items)
        fence = fence_for(text)
        lang = FENCE_LANG.get(first.language, "")
        return f"{self.file_header(first.path)}{fence}{lang}\n{text}\n{fence}\n\n"

    def join(self, head: str, blocks: Sequence[str]) -> str:
        return (head + "".join(blocks)).rstrip("\n") + "\n"

    def counted(self, blocks: list[str]) -> list[str]:
        # the text ends in one newline: the last block is counted as it ends
        if blocks:
            blocks = [*blocks[:-1], blocks[-1].rstrip("\n") + "\n"]
        return blocks

    def document(self, context: str, header: Header, *, items: Sequence[Item],
                 stats: JsonStats, dropped: Sequence[Dropped], skipped: Sequence[Skipped],
                 in_context: Sequence[Chunk]) -> str:
        return context


MARKDOWN = MarkdownRenderer()
