"""Looking things up in an index without packing: ranked hits, a file's members, the
chunks a symbol or a line range names, and a symbol's callers and callees.

What an agent uses to choose before it reads: ``search`` gives ranked places with the
cost of each view, ``chunks_at`` gives one place in full, ``related`` walks the
reference graph (see graph.py) one step each way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .index import Index
from .rank import Ranking

_LINES = re.compile(r"\s*L?(\d+)\s*(?:[-:–]\s*L?(\d+))?\s*")


@dataclass(frozen=True, slots=True)
class Hit:
    """One chunk of an index, located, with what each of its views costs in tokens."""

    row: int
    path: str
    start_line: int
    end_line: int
    kind: str
    symbol: str
    score: float
    full_tokens: int
    skeleton_tokens: int

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line,
                "kind": self.kind, "symbol": self.symbol, "score": round(self.score, 4),
                "tokens": {"full": self.full_tokens, "skeleton": self.skeleton_tokens}}


def hit(index: Index, r: int, score: float = 0.0) -> Hit:
    r = int(r)
    part, parts = (int(x) for x in index.part[r])
    symbol = index.symbols[r]
    if symbol and part:
        symbol += f" (part {part}/{parts})"
    return Hit(r, index.paths[int(index.chunk_file[r])], int(index.starts[r]),
               int(index.ends[r]), index.kinds[r], symbol, score, int(index.tok_full[r]),
               int(index.tok_skel[r]))


def top_hits(index: Index, ranking: Ranking, limit: int) -> list[Hit]:
    """The ``limit`` best chunks with a positive score, best first."""
    out = []
    for r in ranking.order()[: max(limit, 0)]:
        score = float(ranking.scores[r])
        if score <= 0:
            break
        out.append(hit(index, int(r), score))
    return out


def file_row(index: Index, path: str) -> int | None:
    """The file number of ``path`` (as the index names it), or None."""
    try:
        return index.paths.index(path)
    except ValueError:
        return None


def members(index: Index, f: int) -> list[Hit]:
    """Every chunk of file ``f``, in line order."""
    return [hit(index, r) for r in index.chunks_of_file(f)]


def parse_lines(text: str) -> tuple[int, int]:
    """``"120-140"``, ``"L120-L140"``, ``"120"`` -> (120, 140) / (120, 120)."""
    m = _LINES.fullmatch(text)
    if not m:
        raise ConfigError(f"lines {text!r} are not START-END (for example 120-140)", text)
    start = int(m.group(1))
    end = int(m.group(2) or start)
    if not 1 <= start <= end:
        raise ConfigError(f"lines {text!r}: need 1 <= START <= END", text)
    return start, end


def chunks_at(index: Index, f: int, symbol: str = "", lines: str = "") -> list[int]:
    """Rows of file ``f`` that ``symbol`` names (all its parts, and a class's members)
    or that overlap ``lines``, in line order; empty when none does."""
    rows = index.chunks_of_file(f)
    if lines:
        start, end = parse_lines(lines)
        return [r for r in rows if index.starts[r] <= end and index.ends[r] >= start]
    want = symbol.strip()
    exact = [r for r in rows if index.symbols[r] == want]
    if not exact:  # a bare name: a method without its class, a function
        exact = [r for r in rows if index.symbols[r].rsplit(".", 1)[-1] == want]
    named = {index.symbols[r] for r in exact}
    # a class's methods (their symbols are Class.method) come with it
    inside = [r for r in rows if r not in exact
              and any(index.symbols[r].startswith(n + ".") for n in named)]
    return sorted(set(exact) | set(inside))


def definitions(index: Index, symbol: str) -> list[int]:
    """Rows defining ``symbol`` (``QuerySet.bulk_create`` or a bare ``bulk_create``)."""
    rows = index.symbols_by_name.get(symbol.strip())
    if rows is None or not len(rows):
        rows = index.symbols_by_name.get(symbol.strip().rsplit(".", 1)[-1])
    return sorted(int(r) for r in rows) if rows is not None else []


def related(index: Index, rows: list[int]) -> tuple[list[int], list[int]]:
    """(callers, callees) of the chunks ``rows``: their neighbours in the reference graph,
    split by which side names the other."""
    g = index.graph
    if g is None or not g.src.size or not rows:
        return [], []
    mine = set(rows)
    my_defs = {d for r in rows for d in index.defs[r]}
    my_refs = {n for r in rows for n in index.refs[r]}
    near = np.unique(g.dst[np.isin(g.src, np.asarray(rows, np.int32))])
    callers, callees = [], []
    for n in (int(x) for x in near):
        if n in mine:
            continue
        if my_refs.intersection(index.defs[n]):
            callees.append(n)
        if my_defs.intersection(index.refs[n]):
            callers.append(n)
    return callers, callees
