"""Scored chunks + a budget -> which view of which chunk goes into the pack.

Packing is a multiple-choice knapsack: each candidate chunk may be left out or shown as a
one-line mention, a skeleton (signature and docstring) or in full, each view with a token
cost and a value. The greedy below takes upgrades in order of value gained per token
spent, along each candidate's upper convex hull, which is optimal for the fractional
problem and close to it for ours. The rendered text is then counted exactly and trimmed
until it fits: the budget is a hard limit on the whole output, headers included.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import BudgetError
from .index import Index
from .rank import Ranking
from .render import Header, block_text, file_header_text, render_text
from .tokens import Tokenizer
from .types import Chunk, Dropped, Item, View

# A skeleton is worth this share of the full chunk, by kind: a class header or a type
# definition says most of what matters; a function's body is usually the point.
SKELETON_VALUE = {"class": 0.6, "type": 0.7, "module": 0.3, "function": 0.3, "method": 0.3,
                  "section": 0.3, "paragraph": 0.2, "lines": 0.2}
MENTION_VALUE = 0.02


@dataclass(frozen=True, slots=True)
class PackOptions:
    """Knobs of the knapsack; defaults fitted on the benchmark's dev set."""

    max_candidates: int = 3000
    sharpness: float = 4.0  # value = (score / best score) ** sharpness
    skeleton_value: dict[str, float] = field(default_factory=lambda: dict(SKELETON_VALUE))
    mention_value: float = MENTION_VALUE
    mentions: bool = True


@dataclass(slots=True)
class _Cand:
    row: int
    chunk: Chunk
    score: float
    value: float
    options: list[tuple[View, int, float]]  # (view, cost, value), cost ascending
    level: int = -1  # index into options; -1: not included


@dataclass(frozen=True, slots=True)
class Fitted:
    items: tuple[Item, ...]
    text: str
    header: Header
    dropped: tuple[Dropped, ...]


def fit(
    index: Index,
    ranking: Ranking,
    tokenizer: Tokenizer,
    budget: int,
    fmt: str,
    query: str,
    options: PackOptions | None = None,
    skipped_files: int = 0,
) -> Fitted:
    """Choose views to maximise value within ``budget`` tokens of rendered output."""
    options = options or PackOptions()
    text_fmt = "xml" if fmt == "xml" else "markdown"
    if budget <= 0:
        raise BudgetError(f"budget must be a positive number of tokens, not {budget}", budget)
    empty = Header(budget, budget, tokenizer.name, query, ranking.mode,
                   {"items": 0, "files": 0, "full": 0, "skeleton": 0, "mention": 0},
                   index.n_chunks, index.n_files, skipped_files)
    floor = tokenizer.count(render_text([], empty, text_fmt))
    if floor > budget:
        raise BudgetError(
            f"budget {budget} is smaller than the header ({floor} tokens); "
            f"pass --budget {floor} or more",
            budget,
            floor,
        )
    cands = _candidates(index, ranking, tokenizer, text_fmt, options)
    # Room for the header's numbers to grow (counts gain digits as items are added).
    reserve = floor + 12
    chosen = _greedy(cands, budget - reserve, tokenizer, text_fmt)
    items = _items(chosen)
    text, header = _render_fitting(items, index, ranking, tokenizer, budget, text_fmt, query,
                                   skipped_files)
    while True:
        if header.tokens <= budget:
            break
        items = _shrink(items)
        text, header = _render_fitting(items, index, ranking, tokenizer, budget, text_fmt, query,
                                       skipped_files)
    dropped = _dropped(cands, {(i.chunk.path, i.chunk.start_line) for i in items})
    return Fitted(tuple(items), text, header, dropped)


def _value(score: float, best: float, sharpness: float) -> float:
    if best <= 0 or score <= 0:
        return 0.0
    return float((score / best) ** sharpness)


def _candidates(index: Index, ranking: Ranking, tokenizer: Tokenizer, fmt: str,
                options: PackOptions) -> list[_Cand]:
    order = ranking.order()
    scores = ranking.scores
    best = float(scores[order[0]]) if len(order) else 0.0
    seen_text: set[int] = set()
    rows: list[int] = []
    for r in order:
        if len(rows) >= options.max_candidates:
            break
        if scores[r] <= 0 and ranking.mode == "query":
            break
        h = hash(index.texts[r])
        if h in seen_text:  # the same code twice (vendored copies, generated twins)
            continue
        seen_text.add(h)
        rows.append(int(r))
    chunks = [index.chunk(r) for r in rows]
    # Overheads: the label line, fences and context lines, counted on an empty body.
    shells = []
    mentions = []
    for c in chunks:
        shell = Item(replace(c, text="", skeleton=""), "full", 0, 0.0)
        shells.append(block_text(shell, None, fmt))
        mentions.append(block_text(Item(c, "mention", 0, 0.0), None, fmt))
    counts = tokenizer.count_many(shells + mentions)
    overhead = counts[: len(chunks)]
    mention_cost = counts[len(chunks) :]
    out = []
    for r, c, ov, mc in zip(rows, chunks, overhead, mention_cost):
        value = _value(float(scores[r]), best, options.sharpness)
        opts: list[tuple[View, int, float]] = []
        if options.mentions:
            opts.append(("mention", mc, value * options.mention_value))
        full_cost = int(index.tok_full[r]) + ov
        skel_cost = int(index.tok_skel[r]) + ov
        if c.skeleton != c.text and skel_cost < full_cost * 0.8:
            opts.append(("skeleton", skel_cost, value * options.skeleton_value.get(c.kind, 0.3)))
        opts.append(("full", full_cost, value))
        opts.sort(key=lambda o: o[1])
        out.append(_Cand(r, c, float(scores[r]), value, opts))
    return out


def _hull(options: list[tuple[View, int, float]]) -> list[int]:
    """Indices of the options on the upper convex hull of (cost, value), from nothing."""
    steps: list[int] = []
    cur_cost, cur_value = 0, 0.0
    remaining = list(range(len(options)))
    while True:
        best_i, best_d = -1, 0.0
        for i in remaining:
            _, cost, value = options[i]
            if value <= cur_value or cost <= cur_cost:
                continue
            d = (value - cur_value) / (cost - cur_cost)
            if d > best_d:
                best_i, best_d = i, d
        if best_i < 0:
            return steps
        steps.append(best_i)
        cur_cost, cur_value = options[best_i][1], options[best_i][2]
        remaining = [i for i in remaining if options[i][1] > cur_cost]


def _greedy(cands: list[_Cand], room: int, tokenizer: Tokenizer, fmt: str) -> list[_Cand]:
    if room <= 0:
        return []
    file_cost: dict[str, int] = {}
    paths = sorted({c.chunk.path for c in cands})
    if paths:
        for p, n in zip(paths, tokenizer.count_many([file_header_text(p, fmt) for p in paths])):
            file_cost[p] = n
    open_files: set[str] = set()
    hulls = [_hull(c.options) for c in cands]
    heap: list[tuple[float, int, int]] = []
    for ci, (c, hull) in enumerate(zip(cands, hulls)):
        if hull:
            _, cost, value = c.options[hull[0]]
            heapq.heappush(heap, (-value / max(cost, 1), ci, 0))
    while heap and room > 0:
        _, ci, step = heapq.heappop(heap)
        c = cands[ci]
        target = hulls[ci][step]
        cur_cost = c.options[c.level][1] if c.level >= 0 else 0
        cur_value = c.options[c.level][2] if c.level >= 0 else 0.0
        extra = c.options[target][1] - cur_cost
        if c.level < 0 and c.chunk.path not in open_files:
            extra += file_cost.get(c.chunk.path, 8)
        if extra <= room:
            c.level = target
            room -= extra
            open_files.add(c.chunk.path)
            if step + 1 < len(hulls[ci]):
                nxt = hulls[ci][step + 1]
                _, ncost, nvalue = c.options[nxt]
                heapq.heappush(heap, (-(nvalue - c.options[target][2]) / max(ncost - c.options[target][1], 1), ci, step + 1))
            continue
        # The hull step does not fit; a cheaper option off the hull may.
        fallback = -1
        for oi, (_, cost, value) in enumerate(c.options):
            more = cost - cur_cost + (0 if c.level >= 0 or c.chunk.path in open_files
                                      else file_cost.get(c.chunk.path, 8))
            if value > cur_value and more <= room and (fallback < 0 or value > c.options[fallback][2]):
                fallback = oi
        if fallback >= 0:
            more = c.options[fallback][1] - cur_cost
            if c.level < 0 and c.chunk.path not in open_files:
                more += file_cost.get(c.chunk.path, 8)
            c.level = fallback
            room -= more
            open_files.add(c.chunk.path)
    return [c for c in cands if c.level >= 0]


def _items(chosen: Sequence[_Cand]) -> list[Item]:
    items = [
        Item(c.chunk, c.options[c.level][0], c.options[c.level][1], c.score,
             metadata={"value": c.options[c.level][2]})
        for c in chosen
    ]
    items.sort(key=lambda i: (i.chunk.path, i.chunk.start_line, i.chunk.end_line))
    return items


def _shrink(items: list[Item]) -> list[Item]:
    """Give up the item with the least value per token (the rendered text was over)."""
    worst = min(range(len(items)),
                key=lambda k: (items[k].metadata.get("value", 0.0) / max(items[k].tokens, 1), -k))
    return items[:worst] + items[worst + 1 :]


def _render_fitting(items: list[Item], index: Index, ranking: Ranking, tokenizer: Tokenizer,
                    budget: int, fmt: str, query: str, skipped_files: int) -> tuple[str, Header]:
    """Render with the header's token count equal to the count of the whole text."""
    counts = {"items": len(items), "files": len({i.chunk.path for i in items}),
              "full": 0, "skeleton": 0, "mention": 0}
    for i in items:
        counts[i.view] += 1
    files_with_items = {i.chunk.path for i in items}
    left_out = index.n_chunks - len(items)
    left_files = index.n_files - len(files_with_items)
    tokens = budget
    header = Header(budget, tokens, tokenizer.name, query, ranking.mode, counts, left_out,
                    left_files, skipped_files)
    text = render_text(items, header, fmt)
    for _ in range(4):  # the count appears in the text it counts: find the fixed point
        n = tokenizer.count(text)
        if n == header.tokens:
            break
        header = Header(budget, n, tokenizer.name, query, ranking.mode, counts, left_out,
                        left_files, skipped_files)
        text = render_text(items, header, fmt)
    else:
        n = tokenizer.count(text)
        header = Header(budget, n, tokenizer.name, query, ranking.mode, counts, left_out,
                        left_files, skipped_files)
    # The stated count might differ by a token from the true one only if no fixed point
    # exists; the true count is what the caller checks against the budget.
    return text, Header(budget, tokenizer.count(text), tokenizer.name, query, ranking.mode,
                        counts, left_out, left_files, skipped_files)


def _dropped(cands: list[_Cand], kept: set[tuple[str, int]], limit: int = 50) -> tuple[Dropped, ...]:
    out = []
    for c in cands:
        if (c.chunk.path, c.chunk.start_line) in kept:
            continue
        cheapest = c.options[0][1] if c.options else 0
        out.append(Dropped(c.chunk, c.score, f"no room: its smallest view needs {cheapest} tokens"))
        if len(out) >= limit:
            break
    return tuple(out)


def scores_of(items: Sequence[Item]) -> np.ndarray:
    return np.asarray([i.score for i in items], np.float32)
