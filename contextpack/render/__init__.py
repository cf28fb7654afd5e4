"""A pack's items -> text, one module per format behind the ``Renderer`` protocol.

In: items ordered by path then line, a ``Header``, a format name. Out: the text of the
pack (and, for json, the contract document around it). ``base`` holds the protocol and
what formats share; ``markdown``, ``xml`` and ``json`` one format each. A new format is a
new module with a ``Renderer`` and one line in ``RENDERERS``; ``FORMATS`` (the CLI's
choices, the config's, the API's check) follows from it. The MCP tool spells the choices
as a ``Literal`` for its schema: ``tests/test_render.py`` pins that copy.

Light to import: the CLI reads ``FORMATS`` from here at start-up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import Header, Renderer, blocks, file_frame, query_preview, render, summary_line
from .json import JSON
from .markdown import MARKDOWN
from .xml import XML

if TYPE_CHECKING:
    from ..contract import JsonStats
    from ..types import Chunk, Dropped, Item, Skipped

#: Every format by name, the default first.
RENDERERS: dict[str, Renderer] = {r.name: r for r in (MARKDOWN, XML, JSON)}
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def renderer_for(fmt: str) -> Renderer:
    """The renderer of a format name; a ConfigError naming the choices otherwise."""
    try:
        return RENDERERS[fmt]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}",
                          fmt) from None


# A format name in, text out: for callers that hold a name, not a renderer.
def render_body(items: Sequence[Item], fmt: str,
                whole: Collection[str] = frozenset()) -> list[str]:
    """Blocks in output order: file headers, items, file footers."""
    return blocks(items, renderer_for(fmt), whole)


def render_text(items: Sequence[Item], header: Header, fmt: str,
                whole: Collection[str] = frozenset()) -> str:
    """The context text (json's is markdown's)."""
    return render(items, header, renderer_for(fmt), whole)


def render_json(context: str, header: Header, items: Sequence[Item], stats: JsonStats,
                dropped: Sequence[Dropped] = (), skipped: Sequence[Skipped] = (),
                in_context: Sequence[Chunk] = ()) -> str:
    """The machine contract around a markdown context (``json.JsonRenderer.document``)."""
    return JSON.document(context, header, items=items, stats=stats, dropped=dropped,
                         skipped=skipped, in_context=in_context)

__all__ = [
    "FORMATS",
    "JSON",
    "MARKDOWN",
    "RENDERERS",
    "Header",
    "Renderer",
    "XML",
    "blocks",
    "file_frame",
    "query_preview",
    "render",
    "render_body",
    "render_json",
    "render_text",
    "renderer_for",
    "summary_line",
]
