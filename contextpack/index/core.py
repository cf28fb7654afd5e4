"""The index itself: chunks, token counts, lexical statistics, the reference graph and
vectors of a whole tree, as aligned columns.

``Index`` holds columns (one entry per chunk, one per file) rather than objects, so a
warm load maps arrays in place (persist.py) and ranking is numpy over them. ``append``
adds new files' rows; ``finalize`` derives what spans the whole index (graph, name tables,
BM25 statistics).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import graph as graph_mod
from ..lexical import BM25, SparseTerms, group_rows, path_words, sparse_rows
from ..sources import FileStat
from ..types import Chunk, SkipKind, Skipped
from .columns import KeyIndex, StringColumn, TupleColumn, Vocabulary

if TYPE_CHECKING:
    from ..analyze import FileAnalysis

log = logging.getLogger("contextpack")

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


_BIG_STRINGS = ("texts", "skeletons", "contexts")
_NAME_TUPLES = ("defs", "refs")
_SMALL_STRINGS = ("kinds", "symbols", "parents")
_CHUNK_ARRAYS = ("starts", "ends", "part", "tok_full", "tok_skel", "text_crc")
_FILE_LISTS = ("paths", "digests", "stamps", "languages", "file_tokens", "notes",
               "redactions")


@dataclass
class Index:
    """Everything ranking and packing need, as aligned columns.

    Big text columns are ``StringColumn``s (one blob, decoded on access) and lookups are
    ``KeyIndex``es, so loading a snapshot of a large repository is a few memcpys.
    """

    root: str
    tokenizer: str
    model_id: str
    # files
    paths: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    # (size, mtime, ctime, inode) when indexed: an unchanged stamp means an unchanged file
    stamps: list[tuple[int, ...]] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    file_tokens: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redactions: list[tuple[Any, ...]] = field(default_factory=list)  # redact.Redaction per file
    # path -> (stamp, why, kind): files read and left out (types.Skipped)
    skipped: dict[str, tuple[tuple[int, ...], str, SkipKind]] = field(default_factory=dict)
    # chunks
    chunk_file: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    kinds: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    texts: Sequence[str] = field(default_factory=StringColumn)
    skeletons: Sequence[str] = field(default_factory=StringColumn)
    contexts: Sequence[str] = field(default_factory=StringColumn)
    part: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int16))
    defs: Sequence[tuple[str, ...]] = field(default_factory=TupleColumn)
    refs: Sequence[tuple[str, ...]] = field(default_factory=TupleColumn)
    tok_full: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    tok_skel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    vocab: Vocabulary = field(default_factory=Vocabulary)
    chunk_terms: SparseTerms | None = None
    # float16 rows, searched by nearest(): half the bytes to write on every update, and
    # faiss reads half precision as it is
    vectors: np.ndarray | None = None
    # derived by finalize()
    file_terms: SparseTerms | None = None
    graph: graph_mod.Graph | None = None
    symbols_by_name: KeyIndex = field(default_factory=KeyIndex)
    files_by_name: KeyIndex = field(default_factory=KeyIndex)
    path_words: KeyIndex = field(default_factory=KeyIndex)  # word -> files whose path has it
    file_chunks: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    text_crc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))
    chunk_bm25: BM25 | None = None
    file_bm25: BM25 | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    scan_skipped: list[Skipped] = field(default_factory=list)  # from the latest walk
    # what the derived tables were made from, by name id: lets finalize() update them for
    # a few changed files (prepare_updates() makes it; never stored)
    names_state: NameState | None = field(default=None, repr=False, compare=False)

    @property
    def n_chunks(self) -> int:
        return len(self.starts)

    @property
    def n_files(self) -> int:
        return len(self.paths)

    def chunk(self, i: int) -> Chunk:
        """The Chunk object for row i."""
        i = int(i)
        f = int(self.chunk_file[i])
        part, parts = (int(x) for x in self.part[i])
        return Chunk(
            path=self.paths[f],
            start_line=int(self.starts[i]),
            end_line=int(self.ends[i]),
            kind=self.kinds[i],
            symbol=self.symbols[i],
            language=self.languages[f],
            text=self.texts[i],
            skeleton=self.skeletons[i],
            context=self.contexts[i],
            parent=self.parents[i],
            part=part,
            parts=parts,
            defs=self.defs[i],
            refs=self.refs[i],
        )

    def dense_vectors(self) -> np.ndarray | None:
        """The chunk vectors (float16), or None without an embedder."""
        return self.vectors

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` chunks whose vectors have the largest inner product with ``query``:
        (similarities, rows), best first, ties by row. Exact: a faiss index whose codes
        are the half-precision vectors themselves, made on first use and kept ("_"
        attributes are query-time caches, dropped by finalize and never stored)."""
        ip = self.faiss_index()
        if ip is None or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        sims, rows = ip.search(q, min(k, ip.ntotal))
        sims, rows = sims[0], rows[0]
        keep = rows >= 0
        sims, rows = sims[keep], rows[keep]
        order = np.lexsort((rows, -sims))
        return sims[order], rows[order]

    def faiss_index(self) -> Any:
        """The faiss index ``nearest`` searches, made on first use and kept; None without
        vectors."""
        ip = self.__dict__.get("_faiss")
        if ip is None and self.vectors is not None and len(self.vectors):
            ip = self.__dict__["_faiss"] = _faiss_over(self.vectors)
        return ip

    def chunks_of_file(self, f: int) -> range:
        return range(int(self.file_chunks[f]), int(self.file_chunks[f + 1]))

    def total_tokens(self) -> int:
        return int(sum(self.file_tokens))

    # ---------------------------------------------------------------- assembly
    def keep_files(self, keep: Sequence[bool]) -> Index:
        """A copy with only the files (and their chunks) marked in ``keep``."""
        out = Index(self.root, self.tokenizer, self.model_id, vocab=self.vocab)
        for name in _FILE_LISTS + _CHUNK_ARRAYS + _SMALL_STRINGS + _BIG_STRINGS + _NAME_TUPLES:
            setattr(out, name, getattr(self, name))
        out.chunk_file, out.chunk_terms, out.file_terms = \
            self.chunk_file, self.chunk_terms, self.file_terms
        out.vectors = self.dense_vectors()
        out.skipped = dict(self.skipped)
        out._select_files(np.flatnonzero(np.asarray(keep, dtype=bool)))
        return out

    def _take_chunks(self, src: Index, rows: np.ndarray) -> None:
        for name in _CHUNK_ARRAYS:
            setattr(self, name, getattr(src, name)[rows])
        picks = rows.tolist()  # Python ints index a list twice as fast as numpy's
        for name in _SMALL_STRINGS:
            col = getattr(src, name)
            setattr(self, name, [col[i] for i in picks])
        for name in _BIG_STRINGS + _NAME_TUPLES:
            col = getattr(src, name)
            setattr(self, name, col.take(rows) if hasattr(col, "take") else [col[i] for i in rows])
        vectors = src.dense_vectors()
        self.vectors = vectors[rows] if vectors is not None else None
        self.chunk_terms = _take_rows(src.chunk_terms, rows) if src.chunk_terms else None

    def append(
        self,
        analyses: Sequence[FileAnalysis],
        fstats: Sequence[FileStat | None],
        counts: Sequence[tuple[int, np.ndarray, np.ndarray]],
        vectors: Sequence[np.ndarray] | None,
    ) -> None:
        """Add new files' rows (their terms get ids in the shared vocabulary)."""
        # every chunk's term ids and frequencies, chunk after chunk, and each chunk's count
        term_ids: list[int] = []
        term_freqs: list[int] = []
        term_lengths: list[int] = []
        vocab = self.vocab.as_dict()
        get, setdefault = vocab.get, vocab.setdefault
        first_file = self.n_files
        lists: dict[str, list[Any]] = {name: [] for name in _BIG_STRINGS + _NAME_TUPLES}
        lists.update({name: list(getattr(self, name)) for name in _SMALL_STRINGS})
        chunk_file: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        part: list[tuple[int, int]] = []
        tok_full: list[np.ndarray] = []
        tok_skel: list[np.ndarray] = []
        for a, fs, (ftok, tfull, tskel) in zip(analyses, fstats, counts, strict=True):
            f = len(self.paths)
            self.paths.append(a.path)
            self.digests.append(a.digest)
            self.stamps.append(fs.stamp if fs else (0, 0, 0, 0))
            self.languages.append(a.language)
            self.file_tokens.append(int(ftok))
            self.notes.append(a.note)
            self.redactions.append(a.redactions)
            for c, terms in zip(a.chunks, a.terms, strict=True):
                chunk_file.append(f)
                starts.append(c.start_line)
                ends.append(c.end_line)
                part.append((c.part, c.parts))
                lists["kinds"].append(c.kind)
                lists["symbols"].append(c.symbol)
                lists["parents"].append(c.parent)
                lists["texts"].append(c.text)
                lists["skeletons"].append(c.skeleton)
                lists["contexts"].append(c.context)
                lists["defs"].append(c.defs)
                lists["refs"].append(c.refs)
                # looked up in one C-level pass; a new term takes the next id (len is read
                # before setdefault adds it), so ids follow first appearance
                found = list(map(get, terms))
                ids: list[int] = found if None not in found else [  # type: ignore[assignment]
                    i if i is not None else setdefault(t, len(vocab))
                    for t, i in zip(terms, found, strict=True)]
                term_ids += ids
                term_freqs += terms.values()
                term_lengths.append(len(ids))
            tok_full.append(tfull)
            tok_skel.append(tskel)
        for name in _SMALL_STRINGS:
            setattr(self, name, lists[name])
        for name in _BIG_STRINGS:
            setattr(self, name, _concat_column(getattr(self, name), StringColumn(lists[name])))
        for name in _NAME_TUPLES:
            setattr(self, name, _concat_column(getattr(self, name), TupleColumn(lists[name])))
        # Identical chunk texts (vendored copies) are shown once; CRC-32 is stable across runs.
        crc = np.fromiter((zlib.crc32(t.encode("utf-8", "surrogatepass")) for t in lists["texts"]),
                          np.uint32, count=len(lists["texts"]))
        self.text_crc = np.concatenate([self.text_crc, crc])
        self.chunk_file = np.concatenate([self.chunk_file, np.asarray(chunk_file, np.int32)])
        self.starts = np.concatenate([self.starts, np.asarray(starts, np.int32)])
        self.ends = np.concatenate([self.ends, np.asarray(ends, np.int32)])
        self.part = np.concatenate([self.part, np.asarray(part, np.int16).reshape(-1, 2)])
        self.tok_full = np.concatenate([self.tok_full, *(np.asarray(t, np.int32)
                                                         for t in tok_full)])
        self.tok_skel = np.concatenate([self.tok_skel, *(np.asarray(t, np.int32)
                                                         for t in tok_skel)])
        new_terms = sparse_rows(term_lengths, term_ids, term_freqs, len(vocab))
        self.chunk_terms = _concat_rows(self.chunk_terms, new_terms, len(vocab))
        # file rows of the new files only: the old files' rows stand as they are
        new_files = np.asarray(chunk_file, np.int64) - first_file
        self.file_terms = _concat_rows(self.file_terms, group_rows(
            new_terms, new_files, self.n_files - first_file), len(vocab))
        if vectors is not None:
            have = self.dense_vectors()
            dim = vectors[0].shape[1] if vectors else (have.shape[1] if have is not None else 0)
            parts_ = [np.asarray(v, np.float16) for v in vectors if len(v)]
            base = have if have is not None else np.zeros((0, dim), np.float16)
            self.vectors = np.concatenate([base, *parts_]) if parts_ else base
        else:
            self.vectors = None

    def finalize(self, keep: Sequence[bool] | None = None) -> None:
        """Drop the files not marked in ``keep`` (files past its end stay), sort files by
        path and derive the graph and the name tables.

        Per-file and per-chunk rows (terms, CRCs, vectors) are carried, not recomputed, so
        an update costs one pass of array copies plus what spans the whole index. With a
        ``names_state`` (``prepare_updates``), the graph and name tables are updated from
        name ids kept per chunk instead of re-read from every chunk's names: the same
        tables, for a fraction of the time.
        """
        state = self.names_state if self._can_update(keep) else None
        self.names_state = None  # until the tables match the rows again
        old_chunks = state.n_chunks if state is not None else 0
        old_paths = state.paths if state is not None else self._finalized_paths()
        n_rows = self.n_chunks
        files = range(self.n_files) if keep is None else \
            [f for f in range(self.n_files) if f >= len(keep) or keep[f]]
        order = sorted(files, key=lambda f: self.paths[f])
        rows = np.arange(n_rows, dtype=np.int64)
        if order != list(range(self.n_files)):
            rows = self._select_files(np.asarray(order, np.int64))
        counts = np.bincount(self.chunk_file, minlength=self.n_files)
        self.file_chunks = np.zeros(self.n_files + 1, np.int64)
        np.cumsum(counts, out=self.file_chunks[1:])
        assert self.chunk_terms is not None
        self.chunk_terms.n_terms = len(self.vocab)
        if self.file_terms is None or self.file_terms.n_docs != self.n_files:
            self.file_terms = group_rows(self.chunk_terms, self.chunk_file, self.n_files)
        self.file_terms.n_terms = len(self.vocab)
        if state is not None:
            state.moved(self, rows, n_rows, old_chunks)
            self.graph = state.graph()
            self.symbols_by_name = state.symbols_by_name()
        else:
            def_rows, def_names = _flat_names(self.defs)
            ref_rows, ref_names = _flat_names(self.refs)
            self.graph = graph_mod.build_flat(self.n_chunks, def_rows, def_names, ref_rows,
                                              ref_names)
            self.symbols_by_name = _symbols_by_name(def_rows, def_names, self.symbols)
        if old_paths is None or old_paths != self.paths:
            self.files_by_name = KeyIndex(graph_mod.path_names(self.paths))
            self.path_words = KeyIndex(path_words(self.paths))
        if len(self.text_crc) != self.n_chunks:
            self.text_crc = np.fromiter((zlib.crc32(t.encode("utf-8", "surrogatepass"))
                                         for t in self.texts), np.uint32, count=self.n_chunks)
        self.chunk_bm25 = BM25(self.chunk_terms)
        self.file_bm25 = BM25(self.file_terms)
        for name in [k for k in self.__dict__ if k.startswith("_")]:
            del self.__dict__[name]  # query-time caches of the rows as they were
        if state is not None:
            state.paths = list(self.paths)
            self.names_state = state

    def _finalized_paths(self) -> list[str] | None:
        """The paths the path tables were derived from, when this index was finalized (or
        loaded) before: files are only appended since, and ``file_chunks`` still counts
        the files of then. A one-file update keeps every path, and so its tables."""
        n = len(self.file_chunks) - 1
        if self.graph is None or n > len(self.paths) or not len(self.files_by_name):
            return None
        return list(self.paths[:n])

    def prepare_updates(self) -> None:
        """Keep each chunk's names as ids (a resident index that will be updated in
        place): later ``finalize`` calls then update the graph and the name tables for the
        changed files only. Costs about one full derivation, once."""
        if self.names_state is None and self.graph is not None:
            self.names_state = NameState.of(self)

    def _can_update(self, keep: Sequence[bool] | None) -> bool:
        """Whether ``names_state`` describes the rows finalize last saw, now followed by
        the appended files' rows only."""
        state = self.names_state
        if state is None or keep is None or len(keep) != state.n_files or \
                self.n_chunks < state.n_chunks or self.paths[: state.n_files] != state.paths:
            return False
        return bool((self.chunk_file[: state.n_chunks] < state.n_files).all()) and \
            not (self.chunk_file[state.n_chunks:] < state.n_files).any()

    def _select_files(self, order: np.ndarray) -> np.ndarray:
        """Keep the files in ``order`` (a subset, in their new order), renumbered, with
        their chunk rows sorted by (file, line); returns the old row of each new one."""
        rank = np.full(self.n_files, -1, np.int64)
        rank[order] = np.arange(len(order))
        for name in _FILE_LISTS:
            col = getattr(self, name)
            setattr(self, name, [col[i] for i in order.tolist()])
        if self.file_terms is not None and self.file_terms.n_docs == len(rank):
            self.file_terms = _take_rows(self.file_terms, order)
        new_file = rank[self.chunk_file]
        rows = np.flatnonzero(new_file >= 0)
        rows = rows[np.lexsort((self.starts[rows], new_file[rows]))]
        src = Index(self.root, self.tokenizer, self.model_id)
        for name in _CHUNK_ARRAYS + _SMALL_STRINGS + _BIG_STRINGS + _NAME_TUPLES:
            setattr(src, name, getattr(self, name))
        src.vectors, src.chunk_terms = self.dense_vectors(), self.chunk_terms
        self._take_chunks(src, rows)
        self.chunk_file = new_file[rows].astype(np.int32)
        return rows


class NameState:
    """Every chunk's defined and referenced names (and dotted symbol) as ids into one
    table of names, in row order: what the graph and ``symbols_by_name`` are made of.

    An update moves the kept chunks' entries to their new rows and adds the new chunks'
    entries, so only the changed files' names are read. The tables made from it equal
    those made from the names themselves (``graph.build_ids``: only which entries share a
    name counts, never the ids' values); the tests hold both side by side.
    """

    def __init__(self) -> None:
        self.names: dict[str, int] = {}  # only grows: ids stay valid across updates
        self.n_chunks = 0
        self.n_files = 0
        self.paths: list[str] = []
        # (rows, name ids) of definitions, references and dotted symbols, in row order
        self.defs = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.refs = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.dotted = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        # symbols_by_name's sorted keys, kept while the same names are defined
        self._keys: tuple[np.ndarray, StringColumn, np.ndarray] | None = None

    @classmethod
    def of(cls, index: Index) -> NameState:
        out = cls()
        out.defs = out._ids(*_flat_names(index.defs))
        out.refs = out._ids(*_flat_names(index.refs))
        out.dotted = out._ids(*_dotted(index.symbols, range(index.n_chunks)))
        out.n_chunks, out.n_files, out.paths = index.n_chunks, index.n_files, list(index.paths)
        return out

    def _ids(self, rows: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        table = self.names
        ids = np.fromiter((table.setdefault(n, len(table)) for n in names), np.int64,
                          count=len(names))
        return np.asarray(rows, np.int64), ids

    def moved(self, index: Index, rows: np.ndarray, n_rows: int, old_chunks: int) -> None:
        """Follow ``finalize``: ``rows`` holds the pre-finalize row of each row now, of
        ``n_rows`` then, the first ``old_chunks`` of which are those this state knew."""
        new_of = np.full(n_rows, -1, np.int64)
        new_of[rows] = np.arange(len(rows), dtype=np.int64)
        # the appended chunks, at their rows now: only their names are read
        fresh = np.flatnonzero(rows >= old_chunks).tolist()
        defs = [(i, n) for i in fresh for n in index.defs[i]]
        refs = [(i, n) for i in fresh for n in index.refs[i]]
        new_defs = self._ids(np.asarray([i for i, _ in defs], np.int64), [n for _, n in defs])
        new_refs = self._ids(np.asarray([i for i, _ in refs], np.int64), [n for _, n in refs])
        new_dotted = self._ids(*_dotted(index.symbols, fresh))
        self.defs = _merged(self.defs, new_of, new_defs)
        self.refs = _merged(self.refs, new_of, new_refs)
        self.dotted = _merged(self.dotted, new_of, new_dotted)
        self.n_chunks, self.n_files = index.n_chunks, index.n_files

    def graph(self) -> graph_mod.Graph:
        ignored = np.zeros(len(self.names), bool)
        ignored[[i for n in graph_mod.IGNORED_NAMES if (i := self.names.get(n)) is not None]] \
            = True
        def_rows, def_ids = self.defs
        return graph_mod.build_ids(self.n_chunks, def_rows,
                                   np.where(ignored[def_ids], -1, def_ids), *self.refs,
                                   len(self.names))

    def symbols_by_name(self) -> KeyIndex:
        """As ``_symbols_by_name``: a chunk's own names before its dotted symbol, each
        key's chunks in row order."""
        rows = np.concatenate([self.defs[0], self.dotted[0]])
        ids = np.concatenate([self.defs[1], self.dotted[1]])
        order = np.lexsort((np.arange(len(rows)), rows))
        rows, ids = rows[order], ids[order]
        used = np.flatnonzero(np.bincount(ids, minlength=len(self.names)))  # sorted, distinct
        if self._keys is None or not np.array_equal(self._keys[0], used):
            names = list(self.names)  # in id order (the dict only grows)
            spelled = [names[i] for i in used.tolist()]
            by_name = sorted(range(len(spelled)), key=spelled.__getitem__)
            rank = np.full(len(self.names), -1, np.int64)
            rank[used[np.asarray(by_name, np.int64)]] = np.arange(len(used))
            self._keys = (used, StringColumn([spelled[k] for k in by_name]), rank)
        _, keys, rank = self._keys
        if len(rank) < len(self.names):  # names added since (not among the keys)
            rank = np.concatenate([rank, np.full(len(self.names) - len(rank), -1, np.int64)])
        by_key = rank[ids]
        indptr = np.zeros(len(used) + 1, np.int64)
        np.cumsum(np.bincount(by_key, minlength=len(used)), out=indptr[1:])
        return KeyIndex.of_parts(keys, indptr, rows[np.argsort(by_key, kind="stable")])


def _dotted(symbols: Sequence[str], rows: Iterable[int]) -> tuple[np.ndarray, list[str]]:
    """The rows among ``rows`` whose symbol is dotted (``QuerySet.delete``), and those."""
    pairs = [(i, s) for i in rows if (s := symbols[i]) and "." in s]
    return np.asarray([i for i, _ in pairs], np.int64), [s for _, s in pairs]


def _merged(entries: tuple[np.ndarray, np.ndarray], new_of: np.ndarray,
            added: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Kept entries moved to their new rows, dropped ones gone, ``added`` (already in
    new rows) put in row order; a row's entries keep their order."""
    old_rows, old_ids = entries
    moved = new_of[old_rows] if len(old_rows) else old_rows
    kept = moved >= 0
    rows = np.concatenate([moved[kept], added[0]])
    ids = np.concatenate([old_ids[kept], added[1]])
    order = np.argsort(rows, kind="stable")
    return rows[order], ids[order]


def _faiss_over(vectors: np.ndarray) -> Any:
    """An exact inner-product faiss index whose codes are the half-precision vectors
    themselves: filling it is one copy, with no widening to float32."""
    import faiss

    ip = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                    faiss.METRIC_INNER_PRODUCT)
    half = np.ascontiguousarray(vectors, dtype=np.float16)
    if ip.code_size == half.shape[1] * 2:
        ip.add_sa_codes(half.view(np.uint8).reshape(len(half), -1))
    else:  # pragma: no cover - another faiss build
        ip.add(half.astype(np.float32))
    return ip


def _flat_names(col: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, list[str]]:
    """(chunk, name) pairs of a defs or refs column, in chunk order."""
    if isinstance(col, TupleColumn):
        return col.flat()
    rows = np.asarray([i for i, names in enumerate(col) for _ in names], np.int64)
    return rows, [n for names in col for n in names]


def _symbols_by_name(def_rows: np.ndarray, def_names: list[str],
                     symbols: Sequence[str]) -> KeyIndex:
    """Name -> chunks defining it: the names each chunk defines, and dotted symbols
    (``QuerySet.delete``), each key's chunks in row order."""
    dotted = [(i, s) for i, s in enumerate(symbols) if s and "." in s]
    keys: dict[str, int] = {}
    key_of = [keys.setdefault(k, len(keys)) for k in def_names]
    key_of += [keys.setdefault(s, len(keys)) for _, s in dotted]
    rows = np.concatenate([np.asarray(def_rows, np.int64),
                           np.asarray([i for i, _ in dotted], np.int64)])
    key_ids = np.asarray(key_of, np.int64)
    # a chunk's own names come before its dotted symbol, as when added chunk by chunk
    order = np.lexsort((np.arange(len(rows)), rows))
    return KeyIndex.from_pairs(list(keys), key_ids[order], rows[order])


def _concat_column(col: Any, new: Any) -> Any:
    if hasattr(col, "concat"):
        return col.concat(new)
    return type(new)([*col, *new])


def _take_rows(m: SparseTerms, rows: np.ndarray) -> SparseTerms:
    lengths = (m.indptr[1:] - m.indptr[:-1])[rows]
    indptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if len(rows) and indptr[-1]:
        starts = m.indptr[:-1][rows]
        offs = np.arange(int(indptr[-1]), dtype=np.int64) - np.repeat(indptr[:-1], lengths)
        src = np.repeat(starts, lengths) + offs
        indices, data = m.indices[src], m.data[src]
    else:
        indices, data = np.zeros(0, np.int32), np.zeros(0, np.float32)
    new_rows = np.repeat(np.arange(len(rows), dtype=np.int32), lengths)
    return SparseTerms(indptr, indices, data, new_rows, m.n_terms)


def _concat_rows(a: SparseTerms | None, b: SparseTerms, n_terms: int) -> SparseTerms:
    if a is None or a.n_docs == 0:
        b.n_terms = n_terms
        return b
    indptr = np.concatenate([a.indptr, b.indptr[1:] + a.indptr[-1]])
    return SparseTerms(
        indptr,
        np.concatenate([a.indices, b.indices]),
        np.concatenate([a.data, b.data]),
        np.concatenate([a.rows, b.rows + a.n_docs]).astype(np.int32),
        n_terms,
    )


