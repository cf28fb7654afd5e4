"""The one-call functions the CLI and RAG pipelines share.

``pack(query, sources, budget=...)`` does everything once. A ``Packer`` builds (or loads)
the index once and answers many queries: what a server or a notebook wants.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .embed import DEFAULT_EMBEDDER, Embedder, get_embedder
from .errors import ConfigError, SourceError
from .index import Index, IndexSettings, Progress, index_sources, open_index, skipped_list
from .pack import PackOptions, fit
from .rank import Weights, rank
from .render import FORMATS, render_json
from .sources import SourceOptions, documents_to_sources
from .tokens import DEFAULT_ENCODING, Tokenizer, get_tokenizer
from .types import Document, Pack

Source = str | os.PathLike[str] | Document


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that shapes a pack besides the query and the budget."""

    encoding: str = DEFAULT_ENCODING
    tokenizer_file: str | None = None
    embedder: str = DEFAULT_EMBEDDER
    sources: SourceOptions = SourceOptions()
    cache_dir: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    weights: Weights = field(default_factory=Weights)
    pack: PackOptions = field(default_factory=PackOptions)


class Packer:
    """An index of some sources, ready to answer many queries."""

    def __init__(
        self,
        sources: Source | Sequence[Source],
        settings: Settings | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.tokenizer: Tokenizer = get_tokenizer(self.settings.encoding,
                                                  self.settings.tokenizer_file)
        self.embedder: Embedder | None = get_embedder(self.settings.embedder)
        self._sources = sources
        self._progress = progress
        self.index: Index = self._open()

    def _open(self) -> Index:
        path, docs = _split_sources(self._sources)
        if path is not None:
            return open_index(
                path,
                self.tokenizer,
                self.embedder,
                IndexSettings(self.settings.sources, self.settings.cache_dir,
                              self.settings.use_cache, self.settings.jobs),
                self._progress,
            )
        return index_sources(list(documents_to_sources(docs)), self.tokenizer, self.embedder,
                             progress=self._progress)

    def refresh(self) -> Index:
        """Bring the index up to date with the files on disk (cheap when nothing changed)."""
        self.index = self._open()
        return self.index

    def pack(self, query: str = "", budget: int = 8000, format: str = "markdown",
             reserve_output_tokens: int = 0) -> Pack:
        """Rank the index against ``query`` and fit the best of it into ``budget`` tokens."""
        if format not in FORMATS:
            raise ConfigError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}",
                              format)
        if reserve_output_tokens < 0:
            raise ConfigError(f"reserve must not be negative, not {reserve_output_tokens}",
                              reserve_output_tokens)
        room = budget - reserve_output_tokens
        t0 = time.perf_counter()
        ranking = rank(self.index, query, self.embedder, self.settings.weights)
        t_rank = time.perf_counter() - t0
        skipped = skipped_list(self.index)
        fitted = fit(self.index, ranking, self.tokenizer, room, format, query,
                     self.settings.pack, len(skipped))
        t_pack = time.perf_counter() - t0 - t_rank
        stats = self._stats(fitted.items, fitted.header.tokens, ranking, skipped, t_rank, t_pack)
        text = fitted.text
        if format == "json":
            # Timings vary run to run; the JSON must not.
            steady = {k: v for k, v in stats.items() if k != "seconds"}
            text = render_json(fitted.text, fitted.header, fitted.items, steady)
        return Pack(
            text=text,
            tokens=fitted.header.tokens,
            budget=room,
            encoding=self.tokenizer.name,
            query=query,
            format=format,
            items=fitted.items,
            dropped=fitted.dropped,
            skipped=tuple(skipped),
            stats=stats,
        )

    def _stats(self, items: Sequence[Any], tokens: int, ranking: Any, skipped: list[Any],
               t_rank: float, t_pack: float) -> dict[str, Any]:
        index = self.index
        source_tokens = index.total_tokens()
        views = Counter(i.view for i in items)
        return {
            "files": index.n_files,
            "chunks": index.n_chunks,
            "source_tokens": source_tokens,
            "packed_tokens": tokens,
            "compression": round(source_tokens / tokens, 2) if tokens else None,
            "items": {"full": views["full"], "skeleton": views["skeleton"],
                      "mention": views["mention"]},
            "ranking": ranking.mode,
            "named_symbols": ranking.named_symbols,
            "named_files": ranking.named_files,
            "skipped": dict(sorted(Counter(s.reason.split(" (")[0] for s in skipped).items())),
            "embedder": index.model_id,
            "seconds": {"rank": round(t_rank, 3), "pack": round(t_pack, 3)},
        }


def _split_sources(sources: Source | Sequence[Source]) -> tuple[str | None, list[Document]]:
    """One path, or any number of documents (strings or Document objects)."""
    if isinstance(sources, (str, os.PathLike)) and not isinstance(sources, Document):
        return os.fspath(sources), []
    if isinstance(sources, Document):
        return None, [sources]
    items = list(sources)
    if not items:
        raise SourceError("no sources given: pass a path or some documents")
    docs: list[Document] = []
    for s in items:
        if isinstance(s, Document):
            docs.append(s)
        elif isinstance(s, Path):
            if len(items) == 1:
                return os.fspath(s), []
            raise SourceError("pass one folder or file path, or a list of documents")
        elif isinstance(s, str):
            docs.append(Document(text=s))
        elif hasattr(s, "text") or hasattr(s, "page_content"):
            docs.append(_as_document(s))
        else:
            raise SourceError(f"cannot pack a {type(s).__name__}; pass paths or documents")
    return None, docs


def _as_document(obj: Any) -> Document:
    text = getattr(obj, "text", None) or getattr(obj, "page_content", "") or ""
    meta = dict(getattr(obj, "metadata", {}) or {})
    ident = str(getattr(obj, "id", "") or meta.get("path") or meta.get("source") or
                meta.get("url") or "")
    return Document(text=text, id=ident, metadata=meta)


def pack(
    query: str,
    sources: Source | Iterable[Source],
    budget: int = 8000,
    *,
    encoding: str = DEFAULT_ENCODING,
    tokenizer: str | None = None,
    format: str = "markdown",
    embedder: str = DEFAULT_EMBEDDER,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    reserve_output_tokens: int = 0,
    cache: bool = True,
    cache_dir: str | None = None,
    progress: Progress | None = None,
) -> Pack:
    """Pack the sources most relevant to ``query`` into ``budget`` tokens.

    ``sources`` is a folder or file path, or documents (strings or objects with ``text``
    and ``metadata``). ``tokenizer`` names a Hugging Face ``tokenizer.json`` to count
    with instead of the tiktoken ``encoding``.
    """
    settings = Settings(
        encoding=encoding,
        tokenizer_file=tokenizer,
        embedder=embedder,
        sources=SourceOptions(include=tuple(include), exclude=tuple(exclude)),
        cache_dir=cache_dir,
        use_cache=cache,
    )
    srcs = sources if isinstance(sources, (str, os.PathLike, Document)) else list(sources)
    packer = Packer(srcs, settings, progress)
    return packer.pack(query, budget, format, reserve_output_tokens)
