"""Notebooks -> chunks, cell by cell: code cells through the code chunker of the
notebook's language, Markdown cells by section. The text is the percent-format text
``contextpack.formats`` makes of the .ipynb file, and line numbers count its lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..formats import CELL_MARKER
from ..types import Chunk, SourceFile


def chunk_notebook(src: SourceFile, max_chars: int,
                   chunk: Callable[[SourceFile, int], list[Chunk]]) -> list[Chunk]:
    """Chunk each cell with ``chunk`` (the dispatcher), lines shifted to the notebook's."""
    lines = src.text.split("\n")
    starts = [(r, m.group(1)) for r, line in enumerate(lines)
              if (m := CELL_MARKER.match(line))]
    out: list[Chunk] = []
    for k, (row, tag) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body = "\n".join(lines[row + 1 : end])
        if not body.strip():
            continue
        cell = replace(src, text=body, language=tag)
        for c in chunk(cell, max_chars):
            out.append(replace(c, start_line=c.start_line + row + 1,
                               end_line=c.end_line + row + 1))
    return out
