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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import graph as graph_mod
from ..lexical import BM25, SparseTerms, build_sparse, group_rows, path_words
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
    # float32 rows (values rounded to half precision: the store keeps them as float16),
    # searched by nearest(); float32 so a query reads them in place, with no widening
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
        """The chunk vectors (float32), or None without an embedder."""
        return self.vectors

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` chunks whose vectors have the largest inner product with ``query``:
        (similarities, rows), best first, ties by row. Exact: faiss's brute-force k-NN
        (BLAS) over the vectors in place, so a one-off query builds no index."""
        import faiss

        v = self.vectors
        if v is None or not len(v) or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        k = min(k, len(v))
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        sims, rows = faiss.knn(q, np.ascontiguousarray(v, dtype=np.float32), k,
                               metric=faiss.METRIC_INNER_PRODUCT)
        sims, rows = sims[0], rows[0]
        keep = rows >= 0
        sims, rows = sims[keep], rows[keep]
        order = np.lexsort((rows, -sims))
        return sims[order], rows[order]

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
        for name in _SMALL_STRINGS:
            col = getattr(src, name)
            setattr(self, name, [col[i] for i in rows])
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
        term_docs: list[dict[int, int]] = []
        vocab = self.vocab.as_dict()
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
                doc = {}
                for t, n in terms.items():
                    tid = vocab.get(t)
                    if tid is None:
                        tid = vocab[t] = len(vocab)
                    doc[tid] = n
                term_docs.append(doc)
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
        new_terms = build_sparse(term_docs, len(vocab))
        self.chunk_terms = _concat_rows(self.chunk_terms, new_terms, len(vocab))
        # file rows of the new files only: the old files' rows stand as they are
        new_files = np.asarray(chunk_file, np.int64) - first_file
        self.file_terms = _concat_rows(self.file_terms, group_rows(
            new_terms, new_files, self.n_files - first_file), len(vocab))
        if vectors is not None:
            have = self.dense_vectors()
            dim = vectors[0].shape[1] if vectors else (have.shape[1] if have is not None else 0)
            parts_ = [np.asarray(v, np.float32) for v in vectors if len(v)]
            base = have if have is not None else np.zeros((0, dim), np.float32)
            self.vectors = np.concatenate([base, *parts_]) if parts_ else base
        else:
            self.vectors = None

    def finalize(self, keep: Sequence[bool] | None = None) -> None:
        """Drop the files not marked in ``keep`` (files past its end stay), sort files by
        path and derive the graph and the name tables.

        Per-file and per-chunk rows (terms, CRCs, vectors) are carried, not recomputed, so
        an update costs one pass of array copies plus what spans the whole index.
        """
        files = range(self.n_files) if keep is None else \
            [f for f in range(self.n_files) if f >= len(keep) or keep[f]]
        order = sorted(files, key=lambda f: self.paths[f])
        if order != list(range(self.n_files)):
            self._select_files(np.asarray(order, np.int64))
        counts = np.bincount(self.chunk_file, minlength=self.n_files)
        self.file_chunks = np.zeros(self.n_files + 1, np.int64)
        np.cumsum(counts, out=self.file_chunks[1:])
        assert self.chunk_terms is not None
        self.chunk_terms.n_terms = len(self.vocab)
        if self.file_terms is None or self.file_terms.n_docs != self.n_files:
            self.file_terms = group_rows(self.chunk_terms, self.chunk_file, self.n_files)
        self.file_terms.n_terms = len(self.vocab)
        def_rows, def_names = _flat_names(self.defs)
        ref_rows, ref_names = _flat_names(self.refs)
        self.graph = graph_mod.build_flat(self.n_chunks, def_rows, def_names, ref_rows, ref_names)
        self.symbols_by_name = _symbols_by_name(def_rows, def_names, self.symbols)
        self.files_by_name = KeyIndex(graph_mod.path_names(self.paths))
        self.path_words = KeyIndex(path_words(self.paths))
        if len(self.text_crc) != self.n_chunks:
            self.text_crc = np.fromiter((zlib.crc32(t.encode("utf-8", "surrogatepass"))
                                         for t in self.texts), np.uint32, count=self.n_chunks)
        self.chunk_bm25 = BM25(self.chunk_terms)
        self.file_bm25 = BM25(self.file_terms)

    def _select_files(self, order: np.ndarray) -> None:
        """Keep the files in ``order`` (a subset, in their new order), renumbered, with
        their chunk rows sorted by (file, line)."""
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


