"""Retrieved documents + a query -> the documents that fit ``budget``, shrunk where
that pays: the engine behind the LangChain and LlamaIndex integrations.

Each document is chunked and ranked like a file; the knapsack picks a view of each chunk
(full or skeleton: a one-line mention is no use as a document's content), and the chunks
picked from one document are put back together, in order, as that document's new text.
The budget holds for the texts returned: their token counts, each counted whole with the
chosen tokenizer, add up to ``budget`` or less. When every document fits whole, every
document comes back unchanged (ordered by relevance): the retriever chose them, and there
is nothing to save by cutting.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .api import Packer, Settings, SettingsOverrides, Unpack, _as_document, _is_document
from .deprecation import either
from .errors import BudgetError, SourceError
from .fit import PackOptions, fit
from .index import skipped_list
from .models import estimate_cost, get_model
from .rank import rank
from .types import Document, Item
from .usage import append_usage, usage_log_path, usage_record

#: Shown where chunks of a document were left out between the parts kept.
ELISION = "..."

# A first guess at the rendered header's size; fit() says the exact floor if it is more.
_HEADER_GUESS = 120


@dataclass(frozen=True, slots=True)
class Compressed:
    """One input document as it fits the budget.

    ``view`` is ``"full"`` (the text unchanged), ``"skeleton"`` (signatures and
    docstrings only) or ``"partial"`` (some chunks left out, or views mixed).
    """

    position: int  # index of the document in the input
    text: str
    score: float
    view: str
    tokens: int
    chunks: dict[str, int] = dataclasses.field(default_factory=dict, compare=False)

    def metadata(self) -> dict[str, Any]:
        """What the framework integrations add to a kept document's metadata."""
        return {SCORE_KEY: round(self.score, 6), VIEW_KEY: self.view, TOKENS_KEY: self.tokens}


#: Metadata keys the integrations add to each kept document or node.
SCORE_KEY = "contextpack_score"
VIEW_KEY = "contextpack_view"
TOKENS_KEY = "contextpack_tokens"


def compress(
    query: str,
    documents: Sequence[Any],
    budget: int | None = None,
    *,
    settings: Settings | None = None,
    max_tokens: int | None = None,
    **options: Unpack[SettingsOverrides],
) -> list[Compressed]:
    """The documents most relevant to ``query`` that fit ``budget`` tokens, best first.

    ``documents`` are strings, ``Document``s, LangChain documents or LlamaIndex nodes;
    ``options`` override ``Settings`` fields (``encoding``, ``tokenizer``, ``model``,
    ``embedder``, ``redact``, ``usage_log``...). Documents with no text are left out.
    ``max_tokens`` is the old, deprecated name of ``budget``.
    """
    budget = either("compress", "max_tokens", max_tokens, "budget", budget)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise BudgetError(f"budget must be a positive number of tokens, not {budget!r}",
                          budget if isinstance(budget, int) else 0)
    docs: list[Document] = []
    positions: list[int] = []
    for i, d in enumerate(documents):
        if isinstance(d, str):
            doc = Document(text=d)
        elif _is_document(d):
            doc = _as_document(d, i)
        else:
            raise SourceError(f"cannot compress a {type(d).__name__} (document {i}); pass "
                              "strings, Documents, LangChain documents or LlamaIndex nodes")
        if doc.text.strip():
            docs.append(doc)
            positions.append(i)
    if not docs:
        return []
    base = settings or Settings()
    # Documents are one-off: no cache on disk; mentions are not content.
    base = dataclasses.replace(base, use_cache=False,
                               pack=dataclasses.replace(base.pack, mentions=False))
    packer = Packer(docs, base, **options)
    kept = _fit(packer, query, budget)
    out = [dataclasses.replace(k, position=positions[k.position]) for k in kept]
    _log(packer, query, budget, out)
    return out


def _fit(packer: Packer, query: str, max_tokens: int) -> list[Compressed]:
    """Search the pack budget whose re-assembled documents fill ``max_tokens`` best."""
    index = packer.index
    ranking = rank(index, query, packer.embedder, packer.settings.weights)
    # When every document fits whole, nothing is worth cutting: the retriever chose them.
    whole = [Item(index.chunk(r), "full", int(index.tok_full[r]), float(ranking.scores[r]))
             for r in range(index.n_chunks)]
    kept = _assemble(packer, whole)
    if sum(k.tokens for k in kept) <= max_tokens:
        return kept
    options: PackOptions = packer.settings.pack
    skipped = len(skipped_list(index))
    budget = max_tokens + _HEADER_GUESS
    best: list[Compressed] = []
    best_total = -1
    last_items: list[Item] = []
    for _ in range(6):
        try:
            fitted = fit(index, ranking, packer.tokenizer, budget, "markdown", query, options,
                         skipped)
        except BudgetError as exc:
            if exc.needed is None or budget >= exc.needed + max_tokens:
                break
            budget = exc.needed + max_tokens  # the header alone was bigger than the guess
            continue
        last_items = list(fitted.items)
        kept = _assemble(packer, last_items)
        total = sum(k.tokens for k in kept)
        if total <= max_tokens:
            if total > best_total:
                best, best_total = kept, total
            everything = not fitted.dropped and all(i.view == "full" for i in last_items)
            slack = max_tokens - total
            if everything or slack <= max(8, max_tokens // 100):
                break
            budget += slack
        else:
            budget -= total - max_tokens + max(4, max_tokens // 200)
            if budget <= 0:
                break
    if best_total < 0:  # never fitted: give up the weakest chunks of the last try
        items = sorted(last_items, key=lambda i: (-i.score, i.path, i.start_line))
        while items:
            items.pop()
            kept = _assemble(packer, items)
            if sum(k.tokens for k in kept) <= max_tokens:
                return kept
        return []
    return best


def _assemble(packer: Packer, items: Sequence[Item]) -> list[Compressed]:
    """Each document's chosen chunks, in order, as its new text; best document first."""
    index = packer.index
    by_path: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_path[item.path].append(item)
    file_of = {p: f for f, p in enumerate(index.paths)}
    position_of = {p: i for i, p in enumerate(packer.document_paths)}
    out: list[Compressed] = []
    for path, chosen in by_path.items():
        chosen.sort(key=lambda i: i.start_line)
        f = file_of[path]
        rows = index.chunks_of_file(f)
        starts = [int(index.starts[r]) for r in rows]
        views = {"full": 0, "skeleton": 0}
        for i in chosen:
            views[i.view] = views.get(i.view, 0) + 1
        omitted = len(starts) - len(chosen)
        doc = packer.documents[position_of[path]]
        if omitted == 0 and views["skeleton"] == 0 and not index.redactions[f]:
            text, view = doc.text, "full"
        else:
            text = _join(chosen, starts)
            view = "skeleton" if views["skeleton"] == len(starts) else "partial"
        out.append(Compressed(position=position_of[path], text=text,
                              score=max(i.score for i in chosen), view=view, tokens=0,
                              chunks={**views, "omitted": omitted}))
    counts = packer.tokenizer.count_many([c.text for c in out])
    out = [dataclasses.replace(c, tokens=n) for c, n in zip(out, counts, strict=True)]
    out.sort(key=lambda c: (-c.score, c.position))
    return out


def _join(chosen: Sequence[Item], starts: Sequence[int]) -> str:
    """The chosen views in order, with an elision line wherever chunks were left out,
    and a method's class header when the class itself is not shown."""
    pieces: list[str] = []
    previous: Item | None = None
    for item in chosen:
        c = item.chunk
        after = previous.chunk.start_line if previous is not None else 0
        if any(after < s < c.start_line for s in starts) or \
                (previous is None and starts and starts[0] < c.start_line):
            pieces.append(ELISION)
        elif previous is not None and c.start_line > previous.chunk.end_line + 1:
            pieces.append("")  # the blank line(s) between neighbours, as one
        p = previous.chunk if previous is not None else None
        if c.context and not (p is not None and (p.context == c.context or p.symbol == c.parent)):
            pieces.append(c.context)
        pieces.append(c.view_text(item.view))
        previous = item
    if previous is not None and starts and starts[-1] > previous.chunk.start_line:
        pieces.append(ELISION)
    return "\n".join(pieces)


def _log(packer: Packer, query: str, max_tokens: int, kept: Sequence[Compressed]) -> None:
    path = usage_log_path(packer.settings.usage_log)
    if path is None:
        return
    tokens = sum(k.tokens for k in kept)
    model = packer.settings.model
    cost = estimate_cost(model, 0, tokens)["pack_usd"] if model else None
    append_usage(path, usage_record(
        query=query, budget=max_tokens, tokens=tokens,
        source_tokens=packer.index.total_tokens(), sources=[],
        documents=len(packer.documents), encoding=packer.tokenizer.name,
        model=get_model(model).name if model else None, kind="compress",
        cost_usd=cost if isinstance(cost, float) else None,
    ))


__all__ = ["ELISION", "SCORE_KEY", "TOKENS_KEY", "VIEW_KEY", "Compressed", "compress"]
