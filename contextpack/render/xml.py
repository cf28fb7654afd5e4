"""The XML format: ``<context>`` holding a ``<file>`` per file and a ``<chunk>`` or
``<mention>`` per item, code in CDATA sections.

In: a ``Header`` and items (see ``base.Renderer``). Out: a well-formed XML 1.0 document,
whatever the sources hold: attributes are escaped, CDATA ends are split, and characters
XML cannot hold are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..types import Chunk, Dropped, Item, Skipped
from .base import (
    Header,
    context_lines,
    in_context_line,
    query_preview,
    summary_line,
    whole_file_text,
)

if TYPE_CHECKING:
    from ..contract import JsonStats

# Characters XML 1.0 cannot hold, even in CDATA: most C0 controls, lone surrogates, and
# U+FFFE/U+FFFF. Shown as U+FFFD so the document stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FILE_FOOTER = "</file>\n"
FOOTER = "</context>\n"


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def xml_attr(value: str) -> str:
    """A string as an attribute value (one line, quotes and markup escaped)."""
    return (_xml_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", " "))


def cdata(text: str) -> str:
    """Text as CDATA sections: a ``]]>`` inside is split across two."""
    return "<![CDATA[" + _xml_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


class XmlRenderer:
    """``<context>`` with attributes for the budget, ``<file>`` and ``<chunk>`` inside."""

    name = "xml"
    extension = ".xml"
    media_type = "application/xml"

    def header(self, h: Header) -> str:
        mode = "" if h.mode == "query" else ' ranking="structure"'
        if h.note:
            mode += f' note="{xml_attr(h.note)}"'
        query = f"<query>{cdata(query_preview(h.query))}</query>\n" if h.mode == "query" else ""
        return (
            f'<context budget="{h.budget}" tokens="{h.tokens}" '
            f'encoding="{xml_attr(h.encoding)}"{mode}>\n'
            f"{query}<summary>{xml_attr(summary_line(h))}</summary>\n"
        ) + (f"<in_context>{xml_attr(in_context_line(h))}</in_context>\n"
             if h.in_context_total else "")

    def file_header(self, path: str) -> str:
        return f'<file path="{xml_attr(path)}">\n'

    def file_footer(self) -> str:
        return FILE_FOOTER

    def item(self, item: Item, previous: Item | None) -> str:
        c = item.chunk
        attrs = f'lines="{c.start_line}-{c.end_line}" kind="{c.kind}"'
        if c.symbol:
            attrs += f' symbol="{xml_attr(c.label)}"'
        if item.view == "mention":
            return f"<mention {attrs}/>\n"
        body = context_lines(item, previous) + c.view_text(item.view)
        return f'<chunk {attrs} view="{item.view}">\n{cdata(body)}\n</chunk>\n'

    def whole_file(self, items: Sequence[Item]) -> str:
        first, last = items[0].chunk, items[-1].chunk
        return (f'<file path="{xml_attr(first.path)}" lines="{first.start_line}-'
                f'{last.end_line}">\n{cdata(whole_file_text(items))}\n</file>\n')

    def join(self, head: str, blocks: Sequence[str]) -> str:
        return head + "".join(blocks) + FOOTER

    def counted(self, blocks: list[str]) -> list[str]:
        return [*blocks, FOOTER]

    def document(self, context: str, header: Header, *, items: Sequence[Item],
                 stats: JsonStats, dropped: Sequence[Dropped], skipped: Sequence[Skipped],
                 in_context: Sequence[Chunk]) -> str:
        return context


XML = XmlRenderer()
