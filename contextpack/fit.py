"""Scored chunks + a budget -> which view of which chunk goes into the pack.

Packing is a multiple-choice knapsack: each candidate chunk may be left out or shown as a
one-line mention, a skeleton (signature and docstring) or in full, each view with a token
cost and a value. The greedy below takes upgrades in order of value gained per token
spent, along each candidate's upper convex hull, which is optimal for the fractional
problem and close to it for ours. The rendered text is then counted exactly and trimmed
until it fits: the budget is a hard limit on the whole output, headers included.

Every chunk is a candidate, however large the budget. When everything fits, everything
goes in, in full (``_everything``), and a file whose chunks are all in full is rendered as
one block, so a pack of a whole repository costs little more than its files.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import BudgetError
from .index import Index
from .rank import Ranking, is_plain
from .redact import Scrubber
from .render import Header, Renderer, blocks, file_frame, renderer_for
from .render import render as render_context
from .tokens import Tokenizer
from .types import Chunk, DropKind, Dropped, Item, View

# A skeleton is worth this share of the full chunk, by kind: a class header or a type
# definition says most of what matters; a function's body is usually the point.
SKELETON_VALUE = {"class": 0.6, "type": 0.7, "module": 0.3, "function": 0.3, "method": 0.3,
                  "section": 0.3, "paragraph": 0.2, "lines": 0.2}
MENTION_VALUE = 0.02


@dataclass(frozen=True, slots=True)
class PackOptions:
    """Knobs of the knapsack; defaults fitted on the benchmark's dev set."""

    sharpness: float = 4.0  # value = (score / best score) ** sharpness
    skeleton_value: dict[str, float] = field(default_factory=lambda: dict(SKELETON_VALUE))
    mention_value: float = MENTION_VALUE
    mentions: bool = True
    # False: take upgrades in order and stop at the first that does not fit, leaving the
    # rest free, so a few tokens more in one chunk rarely move the margin (snapshots).
    fill: bool = True
    # Tokens of the budget left unused when choosing (the header still states the whole
    # budget): snapshots vary it to keep the previous choice while it still fits.
    headroom: int = 0
    # Dependency closure: a chunk's callees and the types it names are worth this share
    # of its value as skeletons, so a body comes with the signatures it relies on.
    closure: float = 0.02
    closure_from: int = 30  # best candidates whose references are followed
    # Chunks sharing at least this share of their terms with a better one are dropped.
    near_duplicate: float = 0.9
    # A chunk's value grows with its length to this power (0: value per chunk, so the
    # knapsack favours many small chunks; 1: value per token, pure relevance order).
    length_power: float = 0.7
    # Candidates, best first, stop once there are ``min_candidates`` of them and their full
    # views add up to ``reach`` budgets: past that no budget can use more, and weighing all
    # 50,000 chunks of a large repository made every query twice as slow. Large budgets
    # (a million-token window) still see every chunk they could hold.
    min_candidates: int = 3000
    reach: float = 2.0
    # For a plain question (rank.is_plain), value is measured from the score of the chunk
    # at which the full views, best first, add up to ``plain_floor_reach`` budgets (0:
    # from zero, as for other queries). Its English words spread over many chunks and
    # the chunks of a matching file share its file signals, so scores crowd a little
    # below the best; measured from zero, a dozen small ones outweighed the long one
    # ranked above them all. (For queries naming code the floor cost SWE-bench packs
    # their skeletons: their best chunks stand out on their own.)
    plain_floor_reach: float = 2.0


@dataclass(slots=True)
class _Cand:
    row: int
    path: str
    score: float
    value: float
    options: list[tuple[View, int, float]]  # (view, cost, value), cost ascending
    level: int = -1  # index into options; -1: not included
    closure_of: int = -1  # the row whose references brought this one in, if any
    _hull: list[int] | None = None  # memo of hull(), for the rounds of fitting

    def hull(self) -> list[int]:
        """Indices of ``options`` on their upper convex hull (see ``_hull``)."""
        if self._hull is None:
            self._hull = _hull(self.options)
        return self._hull


@dataclass(frozen=True, slots=True)
class Fitted:
    items: tuple[Item, ...]
    text: str
    header: Header
    dropped: tuple[Dropped, ...]
    # rows left out because the session already holds them in full, best first
    already_sent: tuple[int, ...] = ()


def fit(
    index: Index,
    ranking: Ranking,
    tokenizer: Tokenizer,
    budget: int,
    fmt: str,
    query: str,
    options: PackOptions | None = None,
    skipped_files: int = 0,
    *,
    header_note: str = "",
    already_sent: Collection[int] = frozenset(),
) -> Fitted:
    """Choose views to maximise value within ``budget`` tokens of rendered output.

    ``header_note`` is said beside the encoding in the header (the margin kept when the
    count approximates the model's own tokenizer). ``already_sent``: rows the reader holds
    in full already (a session's earlier packs); they are left out, and the best of them
    are named in the header instead.
    """
    options = options or PackOptions()
    renderer = renderer_for(fmt)  # json's context is markdown: its renderer says so
    if budget <= 0:
        raise BudgetError(f"budget must be a positive number of tokens, not {budget}", budget)
    empty = Header(budget, budget, tokenizer.name, query, ranking.mode, _EMPTY_TALLY,
                   index.n_chunks, index.n_files, skipped_files, note=header_note)
    cands, dupes, held = _candidates(index, ranking, options, already_sent, budget, query)
    in_context, floor = _in_context_note(index, held, tokenizer, budget, renderer, empty)
    if floor > budget:
        noted = replace(empty, in_context=in_context[0], in_context_total=in_context[1])
        need = _header_floor(noted, tokenizer, renderer, floor)
        raise BudgetError(
            f"budget {budget} is smaller than the header ({floor} tokens); "
            f"pass --budget {need} or more",
            budget,
            need,
        )
    limit = max(budget - options.headroom, floor)
    counts = _Counts(tokenizer)
    render = _Rendering(index, ranking, counts, budget, renderer, query, skipped_files,
                        header_note, in_context)
    whole = _everything(index, ranking, limit, floor, render, frozenset(already_sent),
                        tuple(held))
    if whole is not None:
        return whole
    # Item costs are estimated (labels and class headers are not tokenized one by one);
    # the rendered text is counted, and the room adjusted until it fits well. Rounds sum
    # the blocks' memoised counts; the choice is then counted whole.
    room = limit - floor - 12
    best: tuple[list[Item], str, Header] | None = None
    chunks = _Chunks.of(index)
    if not options.fill:
        def attempt(chosen: list[_Cand]) -> tuple[list[Item], str, Header]:
            items = _items(chunks, chosen)
            return (items, *render(items))

        best = _largest_prefix(cands, room, limit, renderer, attempt)
    summed = best is None
    for _ in range(4 if best is None else 0):
        items = _items(chunks, _greedy(cands, room, renderer, options.fill))
        text, header = render(items, exact=False)
        if header.tokens <= limit:
            if best is None or header.tokens > best[2].tokens:
                best = (items, text, header)
            slack = limit - header.tokens
            if slack <= max(16, budget // 200):
                break
            room += slack - max(8, budget // 400)
        else:
            room -= header.tokens - limit + max(8, budget // 400)
    if best is not None and summed:
        items = best[0]
        text, header = render(items)
        best = (items, text, header) if header.tokens <= limit else None
    if best is None:  # estimates were off on every try: shed items until it fits
        while True:
            items = _shrink(items)
            text, header = render(items)
            if header.tokens <= limit:
                best = (items, text, header)
                break
    items, text, header = best
    items = _with_reasons(index, ranking, cands, items)
    _mark_whole_files(items, render.whole_files(items))
    kept = {(i.chunk.path, i.chunk.start_line) for i in items}
    return Fitted(tuple(items), text, header, _dropped(index, ranking, cands, dupes, kept),
                  tuple(held))


_EMPTY_TALLY = {"items": 0, "files": 0, "full": 0, "skeleton": 0, "mention": 0}
IN_CONTEXT_LISTED = 30  # already-sent chunks named in a pack's header, at most


# The already-sent chunks a header names, and how many were left out for that in all.
InContext = tuple[tuple[str, ...], int]


def _in_context_note(index: Index, held: Sequence[int], tokenizer: Tokenizer, budget: int,
                     renderer: Renderer, empty: Header) -> tuple[InContext, int]:
    """The already-sent chunks the header names (the best first) and the tokens of the
    header with no items: the list is shortened while that header would not fit."""
    labels = tuple(_span_label(index, r) for r in held[:IN_CONTEXT_LISTED])
    while True:
        note = replace(empty, in_context=labels, in_context_total=len(held))
        floor = tokenizer.count(render_context([], note, renderer))
        if floor <= budget or not labels:
            return (labels, len(held)), floor
        labels = labels[: len(labels) // 2]


def _span_label(index: Index, r: int) -> str:
    """``path:start-end symbol``: where a chunk is, as the reader was shown it."""
    path = index.paths[int(index.chunk_file[r])]
    symbol = index.symbols[r]
    part, parts = (int(x) for x in index.part[r])
    if symbol and part:
        symbol += f" (part {part}/{parts})"
    return f"{path}:{int(index.starts[r])}-{int(index.ends[r])} {symbol}".rstrip()


def _header_floor(empty: Header, tokenizer: Tokenizer, renderer: Renderer, floor: int) -> int:
    """The smallest budget whose own header fits it: the header states the budget, so a
    longer number can cost a token more than the one that was too small."""
    need = floor
    for _ in range(4):
        n = tokenizer.count(render_context([], replace(empty, budget=need, tokens=need), renderer))
        if n <= need:
            return need
        need = n
    return need + 8


def _largest_prefix(cands: list[_Cand], room: int, limit: int, renderer: Renderer,
                    attempt: Callable[[list[_Cand]], tuple[list[Item], str, Header]],
                    ) -> tuple[list[Item], str, Header]:
    """fill=False: the choice is a prefix of one order of upgrades (what ``_greedy`` takes
    until the first that does not fit), so gallop from the estimated room, then bisect on
    the prefix's length, to the longest that renders within ``limit``. Exact, hence
    monotone in ``limit``: a snapshot finds its previous choice again by varying headroom."""
    order = _upgrade_order(cands, renderer)
    spent = np.cumsum([extra for _, _, extra in order])
    guess = int(np.searchsorted(spent, room, side="right"))

    def prefix(k: int) -> tuple[list[Item], str, Header]:
        for c in cands:
            c.level = -1
        for ci, target, _ in order[:k]:
            cands[ci].level = target
        return attempt([c for c in cands if c.level >= 0])

    def reach(k: int, tokens: int) -> int:
        """The prefix length the estimates say makes ``k``'s text ``limit`` tokens long."""
        return int(np.searchsorted(spent, (spent[k - 1] if k else 0) + limit - tokens, "right"))

    lo, hi = 0, len(order) + 1  # prefix lengths known to fit, and to overflow
    best = prefix(0)  # the header alone: fit() checked that it fits
    k, step = min(max(guess, 1), len(order)), 1
    while hi - lo > 1:
        got = prefix(k)
        if got[2].tokens <= limit:
            lo, best = k, got
        else:
            hi = k
        if hi > len(order):  # no overflow seen yet: go up by the estimate, at least step
            k, step = min(max(reach(k, got[2].tokens), lo + step), len(order)), step * 2
        elif lo == 0:  # nothing fits yet: go down likewise
            k, step = max(min(reach(k, got[2].tokens), hi - step), 1), step * 2
        else:
            k = (lo + hi) // 2
    return best


def _upgrade_order(cands: list[_Cand], renderer: Renderer) -> list[tuple[int, int, int]]:
    """Every upgrade (candidate, option, extra tokens) in the order ``_greedy`` takes them
    when nothing stops it; a file's header is charged to its first item."""
    file_cost = {c.path: estimate_tokens(file_frame(renderer, c.path)) for c in cands}
    hulls = [c.hull() for c in cands]
    heap = [(-c.options[h[0]][2] / max(c.options[h[0]][1], 1), ci, 0)
            for ci, (c, h) in enumerate(zip(cands, hulls, strict=True)) if h]
    heapq.heapify(heap)
    opened: set[str] = set()
    out = []
    while heap:
        _, ci, step = heapq.heappop(heap)
        c, hull = cands[ci], hulls[ci]
        _, cost, value = c.options[hull[step]]
        was_cost = c.options[hull[step - 1]][1] if step else 0
        extra = cost - was_cost
        if not step and c.path not in opened:
            extra += file_cost[c.path]
            opened.add(c.path)
        out.append((ci, hull[step], extra))
        if step + 1 < len(hull):
            _, ncost, nvalue = c.options[hull[step + 1]]
            heapq.heappush(heap, (-(nvalue - value) / max(ncost - cost, 1), ci, step + 1))
    return out


def _value(score: float, best: float, sharpness: float, floor: float = 0.0) -> float:
    if best <= 0 or score <= 0:
        return 0.0
    if 0 < floor < best:
        # above the floor, the distance to it; below, a trace (room nothing better wants)
        if score > floor:
            # plus the trace a chunk below the floor gets, so value never falls as the
            # score rises across the floor
            return float(((score - floor) / (best - floor)) ** sharpness
                         + _BELOW_FLOOR * (score / best) ** sharpness)
        return _BELOW_FLOOR * float((score / best) ** sharpness)
    return float((score / best) ** sharpness)


_BELOW_FLOOR = 1e-3


def _score_floor(index: Index, ranking: Ranking, order: np.ndarray, tokens: float) -> float:
    """The score of the chunk at which the full views of the chunks ranked above it add
    up to ``tokens`` (0 when that is 0 or the ranking is not a query's)."""
    if tokens <= 0 or ranking.mode != "query" or not len(order):
        return 0.0
    head = order[: 20 * 1024]
    spent = np.cumsum(np.asarray(index.tok_full, np.int64)[head])
    k = min(int(np.searchsorted(spent, tokens)), len(head) - 1)
    return max(float(ranking.scores[head[k]]), 0.0)


def estimate_tokens(text: str) -> int:
    """A cheap, usually generous token estimate for short labels (about 3.5 chars each)."""
    return len(text) * 2 // 7 + 2


def _candidates(index: Index, ranking: Ranking, options: PackOptions,
                already_sent: Collection[int] = frozenset(), budget: int = 0, query: str = "",
                ) -> tuple[list[_Cand], dict[int, int], list[int]]:
    """The best chunks with their views' costs and values; also the near-duplicates
    left out (row -> the better row they repeat), and the rows ``already_sent`` that
    would have been candidates."""
    order = ranking.order()
    scores = ranking.scores
    best = float(scores[order[0]]) if len(order) else 0.0
    reach = options.plain_floor_reach if query and is_plain(query) else 0.0
    floor = _score_floor(index, ranking, order, reach * budget)
    seen_text: dict[int, int] = {}
    dupes: dict[int, int] = {}
    near = _NearDuplicates(index, options.near_duplicate)
    out: list[_Cand] = []
    held: list[int] = []
    crc = index.text_crc
    tok_full = index.tok_full
    enough = options.reach * budget if budget else float("inf")
    spent = 0
    for r in order:
        if len(out) >= options.min_candidates and spent >= enough:
            break
        score = float(scores[r])
        if score < 0 or (score <= 0 and ranking.mode == "query"):
            break  # a negative score: a row the caller filtered out (rank.Ranking.keep_only)
        r = int(r)
        if r in already_sent:
            held.append(r)
            continue
        h = int(crc[r])
        twin = seen_text.get(h)
        if twin is None and len(out) < _NEAR_DUP_DEPTH:
            twin = near.match(r)
        if twin is not None:  # the same code twice (vendored copies, backends' twins)
            dupes[r] = twin
            continue
        seen_text[h] = r
        out.append(_candidate(index, r, score, _value(score, best, options.sharpness, floor),
                              options))
        spent += int(tok_full[r])
    if options.closure > 0 and ranking.mode == "query":
        _add_closure(index, ranking, out, options, already_sent)
    return out, dupes, held


def _candidate(index: Index, r: int, score: float, value: float, options: PackOptions,
               closure: float = 0.0) -> _Cand:
    """A chunk's views with their estimated costs; ``closure`` raises its skeleton's value
    (a signature something better relies on)."""
    kind, path, label_tokens, full_cost, skel_cost = _row_costs(index, r)
    opts: list[tuple[View, int, float]] = []
    if options.mentions:
        opts.append(("mention", label_tokens + 5, value * options.mention_value))
    if options.length_power:
        value *= (max(full_cost, 20) / _TYPICAL_TOKENS) ** options.length_power
    share = options.skeleton_value.get(kind, 0.3)
    skel_value = max(value * share, closure)
    if skel_cost < full_cost * 0.8:
        opts.append(("skeleton", skel_cost, skel_value))
    # The body is still worth its own share over a skeleton that a referrer's signature
    # raised: else full gains nothing on it and a relevant callee stays a signature.
    opts.append(("full", full_cost, max(value, skel_value + value * (1 - share))))
    opts.sort(key=lambda o: o[1])
    return _Cand(r, path, score, value, opts)


def _row_costs(index: Index, r: int) -> tuple[str, str, int, int, int]:
    """A chunk's kind, path, label estimate and the estimated costs of its full and
    skeleton views: the same for every query, so kept per index (a query-time cache,
    dropped when the index changes)."""
    memo: dict[int, tuple[str, str, int, int, int]] | None = index.__dict__.get("_row_costs")
    if memo is None:
        memo = index.__dict__["_row_costs"] = {}
    got = memo.get(r)
    if got is None:
        kind = index.kinds[r]
        label = f"L{index.starts[r]}-{index.ends[r]} {kind} {index.symbols[r]}"
        if index.part[r][0]:
            label += " (part 10/10)"
        context = index.contexts[r]
        overhead = estimate_tokens(label) + (len(context) // 4 + 2 if context else 0) + 6
        got = memo[r] = (kind, index.paths[int(index.chunk_file[r])], estimate_tokens(label),
                         int(index.tok_full[r]) + overhead, int(index.tok_skel[r]) + overhead)
    return got


def _add_closure(index: Index, ranking: Ranking, cands: list[_Cand], options: PackOptions,
                 already_sent: Collection[int] = frozenset()) -> None:
    """Give the definitions the best chunks reference (callees, base classes, types) a
    skeleton worth ``closure`` x the referrer's value. A name defined in more than a few
    places is ambiguous and brings nothing."""
    by_row = {c.row: c for c in cands}
    table = index.symbols_by_name
    for c in sorted(cands, key=lambda c: -c.value)[: options.closure_from]:
        bonus = c.value * options.closure
        if bonus < options.mention_value:
            break
        for name in index.refs[c.row]:
            rows = table.get(name)
            if rows is None or not 1 <= len(rows) <= _CLOSURE_MAX_DEFS:
                continue
            for r in rows:
                r = int(r)
                if (r == c.row or index.kinds[r] not in _CLOSURE_KINDS or r in already_sent
                        or ranking.scores[r] < 0):
                    continue
                have = by_row.get(r)
                if have is not None:
                    # referrers come best first: an earlier one gave the larger bonus
                    if have.closure_of >= 0 or have.value >= bonus:
                        continue
                    new = _candidate(index, r, have.score, have.value, options, bonus)
                    have.options, have.closure_of = new.options, c.row
                    have._hull = None
                    continue
                new = _candidate(index, r, float(ranking.scores[r]), 0.0, options, bonus)
                new.closure_of = c.row
                by_row[r] = new
                cands.append(new)


_TYPICAL_TOKENS = 100  # about a median function: length_power leaves its value as is
_CLOSURE_MAX_DEFS = 3
_CLOSURE_KINDS = frozenset({"function", "method", "class", "type"})
_NEAR_DUP_DEPTH = 400  # candidates checked for near-duplicates (pairwise, so bounded)


class _NearDuplicates:
    """Chunks whose terms mostly repeat a better chunk's (the same method in three
    database backends): Jaccard similarity of their term sets over a threshold, compared
    only with chunks of about the same size that define the same name (or none). A
    MinHash signature per chunk picks, in one vectorised comparison with all kept chunks,
    the few worth an exact set comparison (pairwise set intersections of long chunks were
    the cost of packing large budgets)."""

    def __init__(self, index: Index, threshold: float) -> None:
        self.index = index
        self.threshold = threshold
        # (tokens, row, terms, name)
        self.kept: list[tuple[int, int, frozenset[int], str]] = []
        self.signatures = np.empty((_NEAR_DUP_DEPTH, _MINHASH_K), np.uint64)
        self.n = 0

    def match(self, r: int) -> int | None:
        m = self.index.chunk_terms
        if self.threshold >= 1.0 or m is None:
            return None
        ids = m.indices[m.indptr[r] : m.indptr[r + 1]]
        terms = frozenset(ids.tolist())
        tokens = int(self.index.tok_full[r])
        if len(terms) < 8:  # tiny chunks (getters, one-liners) are alike by nature
            return None
        signature = _minhash(ids)
        name = self.index.symbols[r].rsplit(".", 1)[-1]
        if self.n:
            # With 32 hashes the estimate's error at J = 0.9 is about 0.05: a pair
            # 0.2 below the threshold by estimate is not a near-duplicate.
            close = np.flatnonzero((self.signatures[: self.n] == signature).mean(axis=1)
                                   >= self.threshold - 0.2)
            for k in close.tolist():
                t, row, other, other_name = self.kept[k]
                if abs(t - tokens) > 0.2 * max(t, tokens):
                    continue
                if name and other_name and name != other_name:
                    continue  # siblings (parse_array, parse_object) share words, not code
                inter = len(terms & other)
                if inter >= self.threshold * (len(terms) + len(other) - inter):
                    return row
        if self.n < len(self.signatures):
            self.signatures[self.n] = signature
            self.n += 1
            self.kept.append((tokens, r, terms, name))
        return None


_MINHASH_K = 32
# Multiply-shift hashing (odd multipliers, arithmetic mod 2**64, high bits kept), with
# fixed seeds so packs stay deterministic.
_MINHASH_A = np.random.default_rng(18).integers(0, 1 << 63, _MINHASH_K, np.uint64) * 2 + 1
_MINHASH_B = np.random.default_rng(81).integers(0, 1 << 63, _MINHASH_K, np.uint64)


def _minhash(ids: np.ndarray) -> np.ndarray:
    """The minimum of 32 fixed hash functions over a set of term ids."""
    x = ids.astype(np.uint64)[None, :]
    return ((_MINHASH_A[:, None] * x + _MINHASH_B[:, None]) >> np.uint64(32)).min(axis=1)


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


def _greedy(cands: list[_Cand], room: int, renderer: Renderer,
            fill: bool = True) -> list[_Cand]:
    """The candidates chosen within ``room`` tokens, each at its chosen ``level``: upgrades
    along each hull, best value per token first; a file's header is paid by its first
    item. ``fill``: where an upgrade does not fit, a cheaper view may (else stop there)."""
    for c in cands:  # a fresh start: fit() calls this again with adjusted room
        c.level = -1
    if room <= 0:
        return []
    file_cost = {c.path: estimate_tokens(file_frame(renderer, c.path)) for c in cands}
    open_files: set[str] = set()
    hulls = [c.hull() for c in cands]
    heap: list[tuple[float, int, int]] = []
    for ci, (c, hull) in enumerate(zip(cands, hulls, strict=True)):
        if hull:
            _, cost, value = c.options[hull[0]]
            heapq.heappush(heap, (-value / max(cost, 1), ci, 0))
    while heap and room > 0:
        _, ci, step = heapq.heappop(heap)
        c = cands[ci]
        target = hulls[ci][step]
        cur_cost = c.options[c.level][1] if c.level >= 0 else 0
        cur_value = c.options[c.level][2] if c.level >= 0 else 0.0
        opening = file_cost[c.path] if c.level < 0 and c.path not in open_files else 0
        extra = c.options[target][1] - cur_cost + opening
        if extra <= room:
            c.level = target
            room -= extra
            open_files.add(c.path)
            if step + 1 < len(hulls[ci]):
                nxt = hulls[ci][step + 1]
                _, ncost, nvalue = c.options[nxt]
                _, tcost, tvalue = c.options[target]
                gain = (nvalue - tvalue) / max(ncost - tcost, 1)
                heapq.heappush(heap, (-gain, ci, step + 1))
            continue
        if not fill:
            break
        # The hull step does not fit; the most valuable cheaper option (off the hull) that
        # does is taken instead, and this candidate goes no further.
        fallback, more = -1, 0
        for oi, (_, cost, value) in enumerate(c.options):
            need = cost - cur_cost + opening
            if value > cur_value and need <= room and (
                    fallback < 0 or value > c.options[fallback][2]):
                fallback, more = oi, need
        if fallback >= 0:
            c.level = fallback
            room -= more
            open_files.add(c.path)
    return [c for c in cands if c.level >= 0]


class _Chunks:
    """Chunk objects by row as packed (secrets found in other files scrubbed, see
    ``_chunk``), built once: rounds of fitting choose mostly the same, and so do the
    packs of related questions (``of`` keeps one per index)."""

    LIMIT = 20_000  # chunks remembered per index; then it starts over

    def __init__(self, index: Index) -> None:
        self.index = index
        self.scrub = Scrubber.of(index.redactions)
        self.memo: dict[int, Chunk] = {}

    @classmethod
    def of(cls, index: Index) -> _Chunks:
        """The index's own (a query-time cache, dropped when the index changes)."""
        got = index.__dict__.get("_chunks")
        if not isinstance(got, cls) or got.index is not index:
            got = index.__dict__["_chunks"] = cls(index)
        if len(got.memo) > cls.LIMIT:
            got.memo.clear()
        return got

    def __call__(self, row: int) -> Chunk:
        chunk = self.memo.get(row)
        if chunk is None:
            chunk = self.memo[row] = _chunk(self.index, row, self.scrub)
        return chunk


def _items(chunks: _Chunks, chosen: Sequence[_Cand]) -> list[Item]:
    items = [
        Item(chunks(c.row), c.options[c.level][0], c.options[c.level][1], c.score,
             metadata={"value": c.options[c.level][2], "row": c.row})
        for c in chosen
    ]
    items.sort(key=lambda i: (i.chunk.path, i.chunk.start_line, i.chunk.end_line))
    return items


def _chunk(index: Index, row: int, scrub: Scrubber | None) -> Chunk:
    """A chunk as packed: without the secrets found in other files of the index (the
    index's own texts may predate the file that revealed one)."""
    c = index.chunk(row)
    if scrub is None:
        return c
    return replace(c, text=scrub.text(c.text), skeleton=scrub.text(c.skeleton),
                   context=scrub.text(c.context))


def _with_reasons(index: Index, ranking: Ranking, cands: list[_Cand],
                  items: list[Item]) -> list[Item]:
    """The chosen items, each with why it is in (only the final choice is explained)."""
    by_row = {c.row: c for c in cands}
    return [replace(i, reason=_reason(index, ranking, by_row[i.metadata["row"]]),
                    metadata={**i.metadata,
                              "signals": ranking.contributions(i.metadata["row"])})
            for i in items]


def _reason(index: Index, ranking: Ranking, c: _Cand) -> str:
    """Why a chunk is in the pack, in one line: its signals, and what brought it in."""
    parts = []
    contrib = ranking.contributions(c.row)
    floor = contrib.pop("part floor", None)
    if contrib:
        parts.append(" + ".join(f"{k} {v:.2f}" if k != "prior" else f"x prior {v:.2f}"
                                for k, v in contrib.items()))
    if floor is not None:
        parts.append(f"raised to {floor:.3f} by a neighbour part of its definition")
    parts.append(f"score {c.score:.3f}")
    if c.closure_of >= 0:
        by = c.closure_of
        where = f"{index.paths[int(index.chunk_file[by])]}:{int(index.starts[by])}"
        parts.append(f"referenced by {index.symbols[by] or 'module code'} ({where})")
    return "; ".join(parts)


def _shrink(items: list[Item]) -> list[Item]:
    """Give up the item with the least value per token (the rendered text was over)."""
    worst = min(range(len(items)),
                key=lambda k: (items[k].metadata.get("value", 0.0) / max(items[k].tokens, 1), -k))
    return items[:worst] + items[worst + 1 :]


class _Counts:
    """Token counts of rendered blocks, memoised: successive rounds of fitting re-render
    mostly the same blocks. Blocks end in a newline and start with a non-space, where
    tiktoken-style pre-tokenizers always split, so counts add up (and the final text is
    counted whole anyway)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.memo: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        n = self.memo.get(text)
        if n is None:
            n = self.memo[text] = self.tokenizer.count(text)
        return n

    def total(self, texts: Sequence[str]) -> int:
        """The summed counts of ``texts``, the new ones counted in one batch (threads)."""
        new = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if new:
            self.memo.update(zip(new, self.tokenizer.count_many(new), strict=True))
        memo = self.memo
        return sum(memo[t] for t in texts)


class _Rendering:
    """Render a choice of items with the header stating the token count of the whole
    text; files whose every chunk is in full become one block."""

    def __init__(self, index: Index, ranking: Ranking, counts: _Counts, budget: int,
                 renderer: Renderer, query: str, skipped_files: int, note: str,
                 in_context: InContext = ((), 0)) -> None:
        self.index, self.ranking, self.counts = index, ranking, counts
        self.budget, self.renderer, self.query = budget, renderer, query
        self.skipped_files, self.note, self.in_context = skipped_files, note, in_context

    def whole_files(self, items: Sequence[Item]) -> frozenset[str]:
        """Paths all of whose chunks are among ``items`` in full."""
        ix = self.index
        full: Counter[int] = Counter()
        for i in items:
            if i.view == "full" and "row" in i.metadata:
                full[int(ix.chunk_file[i.metadata["row"]])] += 1
        sizes = np.diff(ix.file_chunks)
        return frozenset(ix.paths[f] for f, n in full.items() if n == sizes[f])

    def __call__(self, items: list[Item], exact: bool = True) -> tuple[str, Header]:
        """The text and its header; ``exact``: counted whole, else the sum of the blocks'
        memoised counts (equal for tiktoken, whose pieces never cross the blocks' edges)."""
        renderer, counts = self.renderer, self.counts
        tally = {"items": len(items), "files": len({i.chunk.path for i in items}),
                 "full": 0, "skeleton": 0, "mention": 0}
        for i in items:
            tally[i.view] += 1
        left_out = self.index.n_chunks - len(items) - self.in_context[1]
        left_files = self.index.n_files - tally["files"]
        body_blocks = blocks(items, renderer, self.whole_files(items))
        body = counts.total(renderer.counted(body_blocks))

        def header_for(n: int) -> Header:
            return Header(self.budget, n, counts.tokenizer.name, self.query, self.ranking.mode,
                          tally, left_out, left_files, self.skipped_files, note=self.note,
                          in_context=self.in_context[0],
                          in_context_total=self.in_context[1])

        tokens = self.budget
        for _ in range(4):  # the count appears in the text it counts: find the fixed point
            n = counts(renderer.header(header_for(tokens))) + body
            if n == tokens:
                break
            tokens = n
        text = renderer.join(renderer.header(header_for(tokens)), body_blocks)
        if not exact:
            return text, header_for(tokens)
        whole = counts.tokenizer.count(text)
        for _ in range(4):  # rare: the sum of parts was off; settle on the whole text
            if whole == tokens:
                break
            tokens = whole
            text = renderer.join(renderer.header(header_for(tokens)), body_blocks)
            whole = counts.tokenizer.count(text)
        return text, header_for(whole)


#: Item metadata key: the item's file is rendered whole (one block for all its chunks).
WHOLE_FILE = "whole_file"


def _mark_whole_files(items: list[Item], whole: frozenset[str]) -> None:
    """Say in each item's metadata whether its file was rendered as one block (reports
    that count the rendered blocks again need to know)."""
    for i in items:
        if i.chunk.path in whole:
            i.metadata[WHOLE_FILE] = True


# Per-file framing of a whole-file block (header, fence, blank lines), generously.
_WHOLE_FILE_FRAMING = 16


def _everything(index: Index, ranking: Ranking, limit: int, floor: int,
                render: _Rendering, already_sent: frozenset[int] = frozenset(),
                held: tuple[int, ...] = ()) -> Fitted | None:
    """Every chunk in full, when that renders within ``limit``: nothing is worth leaving
    out (no near-duplicate removal, no ranking cut-off) when there is room for it all.
    Rows the caller filtered out (a negative score) or the reader already holds are not
    part of "everything"."""
    scores = ranking.scores
    rows = [r for r in range(index.n_chunks) if scores[r] >= 0 and r not in already_sent]
    if len(rows) == index.n_chunks:
        source = index.total_tokens()
    else:
        source = int(index.tok_full[rows].sum()) if rows else 0
    estimate = floor + source + _WHOLE_FILE_FRAMING * index.n_files
    if estimate > limit or not rows:
        return None
    chunks = _Chunks.of(index)
    items = [Item(chunks(r), "full", int(index.tok_full[r]), float(scores[r]),
                  metadata={"value": float(scores[r]), "row": r},
                  reason=f"score {float(scores[r]):.3f}; everything fits the budget")
             for r in rows]
    items.sort(key=lambda i: (i.chunk.path, i.chunk.start_line, i.chunk.end_line))
    text, header = render(items)
    if header.tokens > limit:
        return None
    _mark_whole_files(items, render.whole_files(items))
    return Fitted(tuple(items), text, header, (), held)


def _dropped(index: Index, ranking: Ranking, cands: list[_Cand], dupes: dict[int, int],
             kept: set[tuple[str, int]], limit: int = 50) -> tuple[Dropped, ...]:
    """The best chunks left out, with why: no room, or a near-duplicate of a better one."""
    out = []
    by_row = {c.row: c for c in cands}
    for r in ranking.order()[: limit * 4]:
        r = int(r)
        if ranking.scores[r] < 0 or (ranking.scores[r] <= 0 and ranking.mode == "query"):
            break
        chunk = index.chunk(r)
        if (chunk.path, chunk.start_line) in kept:
            continue
        twin = dupes.get(r)
        c = by_row.get(r)
        kind: DropKind
        if twin is not None:
            kind = "near_duplicate"
            why = (f"near-duplicate of {index.paths[int(index.chunk_file[twin])]}:"
                   f"{int(index.starts[twin])} {index.symbols[twin]}")
        elif c is not None:
            kind = "no_room"
            cheapest = c.options[0][1] if c.options else 0
            why = (f"no room: its smallest view needs about {cheapest} tokens and better "
                   "chunks took the budget")
        else:
            kind, why = "below_candidates", "below the candidates kept"
        out.append(Dropped(chunk, float(ranking.scores[r]), why, ranking.contributions(r),
                           kind=kind))
        if len(out) >= limit:
            break
    return tuple(out)


def scores_of(items: Sequence[Item]) -> np.ndarray:
    return np.asarray([i.score for i in items], np.float32)
