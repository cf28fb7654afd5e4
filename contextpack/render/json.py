"""The JSON format, the machine contract: the markdown context inside an envelope that
also lists the items, the best chunks left out, the files skipped and the statistics.

In: the markdown text and the pack's parts (see ``base.Renderer.document``). Out: one
JSON document shaped as ``contract.JsonPack``. Everything but the envelope is markdown's,
so the budget counts the ``context`` string, as it does a markdown pack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..types import Chunk, Dropped, Item, Skipped
from .base import Header
from .markdown import MarkdownRenderer

if TYPE_CHECKING:
    from ..contract import JsonPack, JsonStats

JSON_LEFT_OUT = 20  # the best chunks left out, listed in the json contract


class JsonRenderer(MarkdownRenderer):
    """Markdown's context text, wrapped in the JSON contract."""

    name = "json"
    extension = ".json"
    media_type = "application/json"

    def document(self, context: str, header: Header, *, items: Sequence[Item],
                 stats: JsonStats, dropped: Sequence[Dropped], skipped: Sequence[Skipped],
                 in_context: Sequence[Chunk]) -> str:
        """The context text plus items, the best chunks left out (with why), the files
        skipped before ranking (with why), the chunks left out because a session already
        holds them (only when some were), and statistics."""
        doc: JsonPack = {
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


JSON = JsonRenderer()
