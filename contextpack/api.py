"""The one-call functions the CLI and RAG pipelines share.

``pack(query, sources, budget=...)`` does everything once. A ``Packer`` builds (or loads)
the index once and answers many queries: what a server or a notebook wants.

Sources are paths (files and folders, each indexed and cached on its own, then merged
with their paths prefixed by the root's name when there are several), in-memory
documents (strings, ``Document``, LangChain ``Document``, LlamaIndex nodes, mappings with
a ``text``), or any mix of them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any, TypeAlias, TypedDict, cast

import numpy as np

from .contract import JsonStats, PackStats
from .deprecation import either, renamed
from .embed import DEFAULT_EMBEDDER, Embedder, resolve_embedder
from .errors import BudgetError, ConfigError, SourceError
from .fit import PackOptions, fit
from .index import (
    Index,
    IndexSettings,
    Progress,
    index_sources,
    open_index,
    settle_writes,
    skipped_list,
)
from .index.engine import DaskEngine
from .models import (
    APPROXIMATE_ENCODING,
    Model,
    Room,
    default_table,
    estimate_cost,
    get_model,
    plan_room,
)
from .navigate import Hit, top_hits
from .rank import Weights, rank
from .render import renderer_for
from .session import Session
from .sources import SourceOptions, documents_to_sources, selects, valid_text
from .tokens import DEFAULT_ENCODING, Tokenizer, check_tokenizer, get_tokenizer
from .types import Document, HasGetContent, HasPageContent, HasText, Pack, SourceTokens
from .usage import append_usage, usage_log_path, usage_record

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover - exercised on 3.10 only
    from typing_extensions import Unpack

log = logging.getLogger("contextpack")

#: A path (``str`` or ``os.PathLike``), a ``Document``, or any object with text: a
#: mapping with ``"text"`` (or ``"page_content"``, ``"content"``), a LangChain
#: ``Document`` (``page_content``), a LlamaIndex node (``get_content()``), or any object
#: with a ``text`` string.
Source: TypeAlias = (str | os.PathLike[str] | Document | Mapping[str, Any] | HasPageContent
          | HasGetContent | HasText)

# A string in a list longer than this, or holding a newline, is text, never a path.
_PATH_MAX_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that shapes a pack besides the query and the budget.

    ``encoding`` None counts with the ``model``'s encoding when it has one, else
    cl100k_base. ``tokenizer`` wins over both: the path of a Hugging Face
    ``tokenizer.json``, or any object implementing ``Tokenizer`` (its ``name`` keys the
    cached token counts). ``embedder`` is a name (``static``, ``minilm``, ``none``) or any
    object implementing ``Embedder`` (its ``model_id`` keys the cached vectors, so give
    each model its own). ``model`` sizes the default budget to its context window and
    prices the pack. ``tokenizer_file`` is the old name of ``tokenizer`` (deprecated).
    """

    encoding: str | None = None
    tokenizer: str | os.PathLike[str] | Tokenizer | None = None
    embedder: str | Embedder = DEFAULT_EMBEDDER
    sources: SourceOptions = SourceOptions()
    cache_dir: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    weights: Weights = field(default_factory=Weights)
    pack: PackOptions = field(default_factory=PackOptions)
    redact: bool = True  # secrets become [REDACTED:kind] markers before anything is packed
    # a name from models.py (or a Model, e.g. declared in configuration): context window,
    # output reserve, encoding and price
    model: str | Model | None = None
    usage_log: str | None = None  # a JSONL file to append one line per pack to
    engine: DaskEngine | None = None  # the per-file map runs on its cluster
    tokenizer_file: InitVar[str | None] = None  # deprecated: the old name of ``tokenizer``

    def __post_init__(self, tokenizer_file: str | None) -> None:
        if tokenizer_file is not None:
            renamed("Settings", "tokenizer_file", "tokenizer", stacklevel=4)
            if self.tokenizer is None:
                object.__setattr__(self, "tokenizer", tokenizer_file)


class SettingsOverrides(TypedDict, total=False):
    """The ``Settings`` fields, as keyword arguments of ``Packer`` and ``compress``: each
    given one replaces that field of the ``settings`` passed (or of the defaults)."""

    encoding: str | None
    tokenizer: str | os.PathLike[str] | Tokenizer | None
    embedder: str | Embedder
    sources: SourceOptions
    cache_dir: str | None
    use_cache: bool
    jobs: int | None
    weights: Weights
    pack: PackOptions
    redact: bool
    model: str | Model | None
    usage_log: str | None
    engine: DaskEngine | None
    tokenizer_file: str | None  # deprecated: the old name of ``tokenizer``


def apply_overrides(settings: Settings | None, options: SettingsOverrides) -> Settings:
    """``settings`` (or the defaults) with the fields ``options`` names replaced; an
    unknown name is a ConfigError naming the known ones."""
    settings = settings or Settings()
    if not options:
        return settings
    known = [f.name for f in dataclasses.fields(Settings)]
    unknown = sorted(set(options) - set(known) - {"tokenizer_file"})
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}; options are {', '.join(known)}",
                          unknown[0])
    return dataclasses.replace(settings, **options)


class Packer:
    """An index of some sources, ready to answer many queries.

    ``Packer(sources, settings)`` or ``Packer(sources, model="gpt-4o", embedder="none")``:
    keyword options (``SettingsOverrides``) override fields of ``settings``.
    """

    def __init__(
        self,
        sources: Source | Sequence[Source],
        /,
        settings: Settings | None = None,
        progress: Progress | None = None,
        *,
        write_behind: bool = False,
        **options: Unpack[SettingsOverrides],
    ) -> None:
        settings = apply_overrides(settings, options)
        self.settings = settings
        # the cache is written while the first pack ranks (one-shot callers: the CLI)
        self._write_behind = write_behind
        # an unknown name fails before any indexing
        self.model: Model | None = get_model(settings.model) if settings.model else None
        self.tokenizer: Tokenizer = _tokenizer_for(settings, self.model)
        #: True when the tokenizer is the model's own (no margin is needed)
        self.exact_count = _counts_exactly(settings, self.model, self.tokenizer)
        self.embedder: Embedder | None = resolve_embedder(self.settings.embedder)
        self._sources = sources
        self._progress = progress
        self._roots: list[str] = []
        self._n_documents = 0
        self._files: tuple[Index, tuple[SourceTokens, ...]] | None = None  # source_tokens()
        #: the in-memory documents given, and the path each got in the index (ids made
        #: unique: chunks of one file share an id, and become ``id``, ``id#2``...)
        self.documents: list[Document] = []
        self.document_paths: list[str] = []
        self._resident: dict[str, Index] = {}  # each root's index, kept for refresh()
        self._in_memory = False
        self.index: Index = self._open()

    def _open(self) -> Index:
        roots, docs = _split_sources(self._sources)
        self._roots, self._n_documents = roots, len(docs)
        self.documents, self.document_paths = docs, []
        if len(roots) == 1 and not docs:  # the common case: that root's index as it is
            return self._open_root(roots[0])
        parts: list[tuple[str, Index]] = []
        names = _root_names(roots) if len(roots) > 1 else [""]
        taken: set[str] = set()
        for root, name in zip(roots, names, strict=False):
            index = self._open_root(root)
            # A folder's files go under its name; a file root's one path (its base name)
            # gets the folders that tell it apart from the other roots.
            if not name:
                prefix = ""
            elif os.path.isdir(root):
                prefix = f"{name}/"
            else:
                prefix = name[: len(name) - len(os.path.basename(name))]
            parts.append((prefix, index))
            taken.update(prefix + p for p in index.paths)
        if docs:
            sources = _unique_paths(list(documents_to_sources(docs, self.settings.redact)),
                                    taken)
            self.document_paths = [src.path for src in sources]
            parts.append(("", index_sources(sources, self.tokenizer, self.embedder,
                                            progress=self._progress,
                                            redact=self.settings.redact)))
        if len(parts) == 1:
            return parts[0][1]
        from .index.merge import merge_indexes

        return merge_indexes(parts)

    def _open_root(self, path: str) -> Index:
        index = open_index(
            path,
            self.tokenizer,
            self.embedder,
            IndexSettings(dataclasses.replace(self.settings.sources,
                                              redact_names=self.settings.redact),
                          self.settings.cache_dir,
                          self.settings.use_cache, self.settings.jobs,
                          redact=self.settings.redact, engine=self.settings.engine,
                          write_behind=self._write_behind),
            self._progress,
            current=self._resident.get(path) if self._in_memory else None,
        )
        if index.n_files == 0:
            raise _nothing_to_pack(path, index)
        self._resident[path] = index
        return index

    def refresh(self, in_memory: bool = False) -> Index:
        """Bring the index up to date with the files on disk, re-reading only the files
        that changed; the on-disk snapshot is updated too.

        ``in_memory``: update the index held here in place and leave the snapshot alone (a
        resident server): a stat of the tree when nothing changed, where reading or
        writing a large snapshot costs seconds; the next cold start catches it up from the
        store.
        """
        self._in_memory = in_memory
        try:
            self.index = self._open()
        finally:
            self._in_memory = False
        self._files = None  # an index updated in place is the same object: drop the table
        return self.index

    def prepare(self) -> None:
        """Make now what the next query and the next in-place refresh would otherwise
        make first (a resident server calls it off any request's path): the tables ranking
        keeps per index, and each root's per-chunk name ids, with
        which ``refresh(in_memory=True)`` updates the graph and name tables for the changed
        files only."""
        from .rank import prepare

        for index in self._resident.values():
            index.prepare_updates()
        prepare(self.index)

    def pack(self, query: str = "", budget: int | None = None, format: str = "markdown",
             reserve: int | None = None, *,
             session: Session | str | os.PathLike[str] | None = None,
             fresh: bool = False, include: Sequence[str] = (),
             exclude: Sequence[str] = (),
             reserve_output_tokens: int | None = None) -> Pack:
        """Rank the index against ``query`` and fit the best of it into ``budget`` tokens
        less ``reserve`` (kept free for the answer; ``reserve_output_tokens`` is its old,
        deprecated name).

        Without a budget, the settings' model's context window is the budget
        (``DEFAULT_BUDGET``, 8000 tokens, when no model is set), less the model's default
        reserve when none is given; when the model's tokens are counted approximately, a
        margin of its window is kept free too (``stats["window"]``). ``session`` (a
        ``Session``, or the path of its JSON file) holds what earlier packs sent in full:
        those chunks are left out and named in the header as already in context, and this
        pack's full chunks are added to it. ``fresh`` forgets the session's contents
        first. ``include`` and ``exclude`` (globs as for the sources) narrow this pack to
        some of the indexed files.
        """
        reserve = either("Packer.pack", "reserve_output_tokens", reserve_output_tokens,
                         "reserve", reserve)
        _check_arguments(query, budget, reserve)
        held = session if isinstance(session, Session) or session is None else Session(session)
        if held is not None and fresh:
            held.clear()
        sent = held.sent_rows(self.index) if held is not None else frozenset()
        try:
            pack = self._pack(valid_text(query), budget, format, reserve, sent,
                              (tuple(include), tuple(exclude)))
        finally:
            settle_writes()  # the cache is complete when a pack is returned
        if held is not None:
            held.record(pack.items, self.index)
            held.save()
        self._log_usage(pack)
        return pack

    def _pack(self, query: str, budget: int | None, format: str,
              reserve_given: int | None, already_sent: frozenset[int] = frozenset(),
              globs: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())) -> Pack:
        renderer = renderer_for(format)  # an unknown name fails here, before ranking
        model = self.model
        total = budget if budget is not None else (model.context_window if model else None)
        if reserve_given and total is not None and total - reserve_given <= 0:
            # no room at all: let fit say what the header needs, for the hint
            plan = Room(1, total, reserve_given)
        else:
            plan = plan_room(budget, model, reserve_given, self.exact_count,
                             default_table().margin_for(model) if model else 0.0)
        room = plan.budget
        t0 = time.perf_counter()
        ranking = rank(self.index, query, self.embedder, self.settings.weights)
        if globs[0] or globs[1]:
            ranking = ranking.keep_only(self._selected_rows(*globs))
        t_rank = time.perf_counter() - t0
        skipped = skipped_list(self.index)
        # The query ranks as given; the pack only ever shows it without secrets.
        query = self._shown_query(query)
        reserve = plan.reserve_output_tokens
        try:
            fitted = fit(self.index, ranking, self.tokenizer, room, format, query,
                         self.settings.pack, len(skipped), header_note=_margin_note(plan, model),
                         already_sent=already_sent)
        except BudgetError as exc:
            if not reserve or exc.needed is None or total is None:
                raise
            need = exc.needed + reserve
            less = total - exc.needed
            alt = f", or --reserve {less} or less" if less >= 0 else ""
            raise BudgetError(
                f"budget {total} less the {reserve} tokens reserved for the "
                f"answer leaves {max(total - reserve, 0)}, fewer than the "
                f"header's {exc.needed}; pass --budget {need} or more{alt}",
                total, need) from exc
        held = tuple(self.index.chunk(r) for r in fitted.already_sent)
        t_pack = time.perf_counter() - t0 - t_rank
        stats = self._stats(fitted.items, fitted.header.tokens, ranking, skipped, t_rank, t_pack)
        if model or plan.reserve_output_tokens:
            stats["window"] = plan.as_dict(model)
        if model:
            stats["cost"] = estimate_cost(model, stats["source_tokens"], fitted.header.tokens,
                                          self.exact_count)
        # Timings vary run to run; the output must not.
        steady = cast(JsonStats, {k: v for k, v in stats.items() if k != "seconds"})
        text = renderer.document(fitted.text, fitted.header, items=fitted.items, stats=steady,
                                 dropped=fitted.dropped, skipped=skipped, in_context=held)
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
            reserve_output_tokens=plan.reserve_output_tokens,
            model=model.name if model else None,
            files=self.source_tokens(),
            already_sent=held,
        )

    def source_tokens(self) -> tuple[SourceTokens, ...]:
        """Every indexed file with its tokens, chunks and language (what reports draw);
        computed once per index."""
        index = self.index
        cached = self._files
        if cached is None or cached[0] is not index:
            chunks = np.diff(index.file_chunks) if index.n_files else ()
            files = tuple(SourceTokens(p, int(t), int(n), lang) for p, t, n, lang in zip(
                index.paths, index.file_tokens, chunks, index.languages, strict=True))
            cached = self._files = (index, files)
        return cached[1]

    def _shown_query(self, query: str) -> str:
        if not self.settings.redact or not query:
            return query
        from .redact import Scrubber, redact, redact_name

        shown = redact_name(redact(query, "query.txt")[0])
        scrub = Scrubber.of(self.index.redactions)
        return scrub.text(shown) if scrub is not None else shown

    def search(self, query: str, limit: int = 20, include: Sequence[str] = (),
               exclude: Sequence[str] = ()) -> list[Hit]:
        """The ``limit`` chunks that rank best for ``query``, located and costed, without
        their text: for choosing what to read."""
        ranking = rank(self.index, query, self.embedder, self.settings.weights)
        if include or exclude:
            ranking = ranking.keep_only(self._selected_rows(tuple(include), tuple(exclude)))
        return top_hits(self.index, ranking, limit)

    def index_path(self, path: str) -> str:
        """The index's name for a file given as the index names it (relative to its root)
        or as an absolute path under a root. A path outside every root is an error."""
        if "\0" in path or not path.strip():
            raise SourceError(f"path {path!r} is not a file path", path)
        outside = SourceError(f"path {path!r} is outside the roots ({', '.join(self._roots)})",
                              path)
        if not os.path.isabs(path):
            rel = os.path.normpath(path)
            if rel == ".." or rel.startswith(".." + os.sep):
                raise outside
            return rel.replace(os.sep, "/")
        names = _root_names(self._roots) if len(self._roots) > 1 else [""]
        real = os.path.realpath(path)
        for root, name in zip(self._roots, names, strict=True):
            top = os.path.realpath(root)
            if real.startswith(top.rstrip(os.sep) + os.sep):
                rel = os.path.relpath(real, top).replace(os.sep, "/")
                return f"{name}/{rel}" if name else rel
        raise outside

    def _selected_rows(self, include: tuple[str, ...], exclude: tuple[str, ...]) -> Any:
        """A mask of the chunks whose files pass the globs; none passing is an error."""
        files = np.fromiter((selects(p, include, exclude) for p in self.index.paths), bool,
                            self.index.n_files)
        if not files.any():
            raise SourceError(f"no indexed file matches include {list(include)} and exclude "
                              f"{list(exclude)}; globs are like '*.py' or 'src/'")
        return files[self.index.chunk_file]

    def _log_usage(self, pack: Pack, kind: str = "pack") -> None:
        path = usage_log_path(self.settings.usage_log)
        if path is None:
            return
        cost = pack.stats.get("cost")
        append_usage(path, usage_record(
            query=pack.query, budget=pack.budget, tokens=pack.tokens,
            source_tokens=int(pack.stats.get("source_tokens", 0)),
            sources=[os.path.abspath(r) for r in self._roots],
            documents=self._n_documents, encoding=pack.encoding, model=pack.model,
            reserve_output_tokens=pack.reserve_output_tokens, kind=kind,
            cost_usd=cost["pack_usd"] if cost else None,
        ))

    def _stats(self, items: Sequence[Any], tokens: int, ranking: Any, skipped: list[Any],
               t_rank: float, t_pack: float) -> PackStats:
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
            "skipped": dict(sorted(Counter(s.headline for s in skipped).items())),
            "embedder": index.model_id,
            # where secrets were replaced by markers, in all the sources (never the values)
            "redactions": [{"path": p, "line": r.line, "type": r.kind}
                           for p, found in zip(index.paths, index.redactions, strict=True)
                           for r in found],
            "seconds": {"rank": round(t_rank, 3), "pack": round(t_pack, 3)},
        }


def _check_arguments(query: object, budget: object, reserve: object) -> None:
    """Wrong types fail here, clearly, not deep inside ranking or packing."""
    if not isinstance(query, str):
        hint = "; decode bytes to str first" if isinstance(query, (bytes, bytearray)) else ""
        raise TypeError(f"query must be a str, not {type(query).__name__}{hint}")
    for name, value, none_ok in (("budget", budget, True), ("reserve", reserve, True)):
        if (value is None and none_ok) or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        raise TypeError(f"{name} must be a whole number of tokens{' or None' if none_ok else ''},"
                        f" not {type(value).__name__} {value!r}")


def _nothing_to_pack(path: str, index: Index) -> SourceError:
    skipped = skipped_list(index)
    if skipped:
        reasons = Counter(s.headline for s in skipped)
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        detail = f"every file was left out ({why})"
    else:
        detail = "it holds no files once ignore rules and --include/--exclude apply"
    return SourceError(f"no files to pack under {path!r}: {detail}", path)


def _tokenizer_for(settings: Settings, model: Model | None) -> Tokenizer:
    """The ``tokenizer`` given (an object, or a tokenizer.json file), else the encoding
    named, else the model's own (its tokenizer.json or encoding), else cl100k_base."""
    given = settings.tokenizer
    if given is not None and not isinstance(given, (str, os.PathLike)):
        return check_tokenizer(given)
    if given or settings.encoding:
        return get_tokenizer(settings.encoding, os.fspath(given) if given else None)
    if model is not None:
        if model.tokenizer_file:
            return get_tokenizer(tokenizer_file=model.tokenizer_file)
        if model.encoding is None:
            log.warning("%s has no public tiktoken encoding: counting with %s, an "
                        "approximation, and keeping %.0f%% of its window free; pass its "
                        "tokenizer.json (tokenizer=...) for exact budgets", model.name,
                        APPROXIMATE_ENCODING, 100 * default_table().margin_for(model))
        return get_tokenizer(model.encoding or APPROXIMATE_ENCODING)
    return get_tokenizer(DEFAULT_ENCODING)


def _counts_exactly(settings: Settings, model: Model | None, tokenizer: Tokenizer) -> bool:
    """Whether token counts are the model's own: its tokenizer.json or its encoding (a
    tokenizer the user passes, as a file or an object, is taken to be the model's)."""
    if model is None or settings.tokenizer:
        return True
    if model.tokenizer_file and not settings.encoding:
        return True
    return model.encoding is not None and tokenizer.name == model.encoding


def _margin_note(plan: Any, model: Model | None) -> str:
    """What the header says when a margin was kept for an approximate count."""
    if model is None or not plan.margin:
        return ""
    return (f"approximates {model.name}'s tokenizer: {plan.margin:.0%} margin kept in its "
            f"{model.context_window:,}-token window")


def _split_sources(sources: Source | Sequence[Source]) -> tuple[list[str], list[Document]]:
    """Paths and documents, in the order given.

    A lone ``str`` or ``os.PathLike`` is a path. In a list, ``os.PathLike`` objects are
    paths, and a ``str`` is a path when it is one line naming an existing file or
    folder, else a document's text (wrap a path in ``pathlib.Path`` to be explicit).
    """
    if isinstance(sources, (str, os.PathLike)):
        return [os.fspath(sources)], []
    if _is_document(sources):
        return [], [_as_document(sources, 0)]
    if sources is None:
        raise TypeError("sources must be a path, a document or a list of them, not None")
    if isinstance(sources, (bytes, bytearray, memoryview)):
        raise TypeError("cannot pack bytes; decode them to str first (or pass a path)")
    try:
        items = list(cast(Iterable[Any], sources))
    except TypeError:
        raise SourceError(f"cannot pack a {type(sources).__name__}; pass paths or "
                          "documents (str, Document, or objects with text)") from None
    if not items:
        raise SourceError("no sources given: pass a path or some documents")
    roots: list[str] = []
    seen_roots: set[str] = set()
    docs: list[Document] = []
    for i, item in enumerate(items):
        if isinstance(item, os.PathLike) or (isinstance(item, str) and _names_a_path(item)):
            path = os.fspath(item)
            if not os.path.exists(path):
                raise SourceError(f"path {path!r} does not exist", path)
            real = os.path.realpath(path)
            if real not in seen_roots:  # the same root twice is indexed once
                seen_roots.add(real)
                roots.append(path)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"source {i} is bytes; decode it to str first")
        elif isinstance(item, str):
            if "\n" not in item and len(item) < 256 and ("/" in item or os.sep in item) \
                    and not any(ch.isspace() for ch in item):
                log.warning("packing %r as a document's text: no such file or folder "
                            "(pass a pathlib.Path to mean a path)", item)
            docs.append(Document(text=item))
        elif _is_document(item):
            docs.append(_as_document(item, i))
        else:
            raise SourceError(f"cannot pack a {type(item).__name__} (source {i}); pass "
                              "paths or documents (str, Document, or objects with text)")
    return roots, docs


def _names_a_path(text: str) -> bool:
    return (0 < len(text) < _PATH_MAX_CHARS and "\n" not in text and "\0" not in text
            and os.path.exists(text))


_TEXT_KEYS = ("text", "page_content", "content")
# Metadata naming where a document came from: a readable label that also tells its
# language (``src/app.py``), preferred to opaque ids such as LlamaIndex's UUIDs.
_PATH_KEYS = ("path", "file_path", "source", "url", "file_name", "filename")


def _is_document(obj: Any) -> bool:
    if isinstance(obj, Document):
        return True
    if isinstance(obj, Mapping):
        return any(isinstance(obj.get(k), str) for k in _TEXT_KEYS)
    return (hasattr(obj, "page_content") or callable(getattr(obj, "get_content", None))
            or isinstance(getattr(obj, "text", None), str))


def _as_document(obj: Any, position: int) -> Document:
    """Our Document from a LangChain ``Document`` (``page_content``), a LlamaIndex node
    (``get_content()``, ``node_id``), a mapping, or any object with ``text``."""
    if isinstance(obj, Document):
        return obj
    if isinstance(obj, Mapping):
        text = next((obj[k] for k in _TEXT_KEYS if isinstance(obj.get(k), str)), None)
        meta = dict(obj.get("metadata") or {})
        explicit = obj.get("id")
    else:
        if hasattr(obj, "page_content"):
            text = obj.page_content
        elif callable(getattr(obj, "get_content", None)):
            text = obj.get_content()
        else:
            text = getattr(obj, "text", None)
        meta = dict(getattr(obj, "metadata", None) or {})
        explicit = getattr(obj, "id", None) or getattr(obj, "node_id", None)
    if not isinstance(text, str):
        raise SourceError(f"document {position} ({type(obj).__name__}) has no text: "
                          f"expected a str, got {type(text).__name__}")
    where = next((str(meta[k]) for k in _PATH_KEYS if meta.get(k)), "")
    return Document(text=text, id=where or str(explicit or ""), metadata=meta)


def _root_names(roots: Sequence[str]) -> list[str]:
    """The shortest trailing part of each root's path that tells it from the others."""
    parts = [os.path.realpath(r).strip(os.sep).split(os.sep) for r in roots]
    depth = [1] * len(roots)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clash = {n for n in names if names.count(n) > 1}
        if not clash:
            return names
        grew = False
        for i, n in enumerate(names):
            if n in clash and depth[i] < len(parts[i]):
                depth[i] += 1
                grew = True
        if not grew:  # only reachable for distinct paths that render the same
            return [f"{n}~{i}" if n in clash else n for i, n in enumerate(names)]


def _unique_paths(sources: list[Any], taken: set[str]) -> list[Any]:
    """Documents sharing an id (chunks of one file from a retriever) become ``id#2``,
    ``id#3``...; their language still comes from the id."""
    out = []
    seen = set(taken)
    for src in sources:
        path = src.path
        n = 1
        while path in seen:
            n += 1
            path = f"{src.path}#{n}"
        seen.add(path)
        out.append(src if path == src.path else dataclasses.replace(src, path=path))
    return out


def pack(
    query: str,
    sources: Source | Iterable[Source],
    budget: int | None = None,
    *,
    model: str | Model | None = None,
    reserve: int | None = None,
    encoding: str | None = None,
    tokenizer: str | os.PathLike[str] | Tokenizer | None = None,
    format: str = "markdown",
    embedder: str | Embedder = DEFAULT_EMBEDDER,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    cache: bool = True,
    cache_dir: str | None = None,
    progress: Progress | None = None,
    redact: bool = True,
    usage_log: str | os.PathLike[str] | None = None,
    session: Session | str | os.PathLike[str] | None = None,
    reserve_output_tokens: int | None = None,
) -> Pack:
    """Pack the sources most relevant to ``query`` into ``budget`` tokens.

    ``sources`` is a file or folder path, documents (strings, ``Document``, LangChain
    documents, LlamaIndex nodes), or a list mixing them. ``budget`` None: the ``model``'s
    context window, else ``DEFAULT_BUDGET`` (8000 tokens, as on the command line).
    ``model`` (a name from ``contextpack.models``) makes its context window the default
    budget, its encoding the default tokenizer, and prices the pack in ``stats["cost"]``
    (at the tier its length falls in); ``reserve`` is kept free for the answer (None: the
    model's default reserve when its window is the budget, else 0), and a margin of the
    window too when the model's tokens are counted approximately (``stats["window"]``).
    ``tokenizer`` is a Hugging Face ``tokenizer.json`` (or any ``Tokenizer`` object) to
    count with instead of a tiktoken ``encoding``; ``embedder`` a name or any ``Embedder``
    object. Secrets are replaced by ``[REDACTED:kind]`` markers (listed in
    ``stats["redactions"]``) unless ``redact=False``. ``usage_log`` (or
    ``$CONTEXTPACK_USAGE_LOG``) gets one JSON line. ``session`` (a ``Session`` or the
    path of its JSON file) leaves out what earlier packs of the session sent in full, and
    records what this one sends. ``reserve_output_tokens`` is the old, deprecated name of
    ``reserve``.
    """
    reserve = either("pack", "reserve_output_tokens", reserve_output_tokens, "reserve",
                     reserve)
    # Wrong types fail before anything else.
    _check_arguments(query, budget, reserve)
    if sources is None or isinstance(sources, (bytes, bytearray, memoryview)):
        _split_sources(sources)  # raises the TypeError
    settings = Settings(
        encoding=encoding,
        tokenizer=os.fspath(tokenizer) if isinstance(tokenizer, os.PathLike) else tokenizer,
        embedder=embedder,
        sources=SourceOptions(include=tuple(include), exclude=tuple(exclude)),
        cache_dir=cache_dir,
        use_cache=cache,
        redact=redact,
        model=model,
        usage_log=os.fspath(usage_log) if usage_log is not None else None,
    )
    if isinstance(sources, (str, os.PathLike)) or _is_document(sources):
        srcs: Source | Sequence[Source] = cast(Source, sources)
    else:
        srcs = list(cast(Iterable[Any], sources))
    # Unknown models and bad reserves fail before any indexing.
    plan_room(budget, model, reserve)
    # A bad session file fails before any indexing.
    held = session if isinstance(session, Session) or session is None else Session(session)
    packer = Packer(srcs, settings, progress, write_behind=True)
    return packer.pack(query, budget, format, reserve, session=held)
