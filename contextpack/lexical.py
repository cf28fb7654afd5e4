"""Identifier-aware terms and BM25 over a compressed sparse matrix.

``bulk_create`` and ``QuerySet`` are kept whole and split into their words
(``bulk``, ``create``, ``query``, ``set``), so a query in prose finds code and a query
naming an identifier finds it exactly.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_HUMPS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOPWORDS = frozenset(
    """
    a an the and or not of to in on at by for with from as is are was were be been being it its
    this that these those there here if else elif then than so but do does did done can could
    should would will shall may might must have has had i we you he she they them our your my
    me us his her their what which who whom when where why how all any each other some such no
    nor only own same too very just also into out up down over under again further once about
    self cls def return import class none true false null var let const function new end
    pass lambda yield async await try except finally raise while break continue get set
    """.split()
)

K1 = 1.2
B = 0.75


@lru_cache(maxsize=200_000)
def split_identifier(word: str) -> tuple[str, ...]:
    """The lowercase words of an identifier: the whole, then its parts if it has several."""
    lower = word.lower()
    parts: list[str] = []
    for piece in word.split("_"):
        parts.extend(p.lower() for p in _HUMPS.findall(piece))
    out = [lower] if len(lower) > 1 and lower not in STOPWORDS else []
    if len(parts) > 1:
        out.extend(p for p in parts if len(p) > 1 and p not in STOPWORDS and p != lower)
    return tuple(out)


def term_counts(text: str) -> Counter[str]:
    """Term frequencies of a text, identifiers split as above."""
    return Counter(term_dict(text))


def term_dict(text: str) -> dict[str, int]:
    """``term_counts`` as a plain dict: what an index keeps per chunk."""
    # A plain dict: Counter's own += on a new key runs __missing__ in Python, a third of
    # a cold index's term extraction.
    counts: dict[str, int] = {}
    get = counts.get
    for word, n in Counter(WORD.findall(text)).items():
        for term in split_identifier(word):
            counts[term] = get(term, 0) + n
    return counts


def query_terms(text: str) -> Counter[str]:
    """Terms of a query (same analysis as documents)."""
    return term_counts(text)


def singular(word: str) -> str:
    """``urls`` -> ``url``, ``lookups`` -> ``lookup``: folders are often plural, prose not."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def path_words(paths: Sequence[str]) -> dict[str, list[int]]:
    """Word -> the files whose path (folders and file stem) holds it, in file order."""
    table: dict[str, list[int]] = {}
    for f, path in enumerate(paths):
        stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
        words: set[str] = set()
        for part in stem.split("/"):
            words.update(singular(w) for w in split_identifier(part))
        for w in words:
            table.setdefault(w, []).append(f)
    return table


@dataclass(slots=True)
class SparseTerms:
    """Documents x terms in CSR form, with the row of each entry kept for fast scoring."""

    indptr: np.ndarray  # int64, n_docs + 1
    indices: np.ndarray  # int32 term ids
    data: np.ndarray  # float32 term frequencies
    rows: np.ndarray  # int32 document of each entry
    n_terms: int

    @property
    def n_docs(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def of_csr(cls, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
               n_terms: int) -> SparseTerms:
        """A matrix from its CSR arrays (``rows`` is derived: not worth its bytes on disk)."""
        lengths = indptr[1:] - indptr[:-1]
        if len(indptr) == 0 or indptr[0] != 0 or int(indptr[-1]) != len(indices) or \
                len(indices) != len(data) or (lengths < 0).any() or \
                (len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_terms)):
            raise ValueError("sparse term matrix arrays do not fit together")
        rows = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        return cls(indptr, indices, data, rows, n_terms)

    def doc_lengths(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.data, minlength=self.n_docs).astype(np.float32)

    def doc_freq(self) -> np.ndarray:
        return np.bincount(self.indices, minlength=self.n_terms).astype(np.float32)


def sparse_rows(lengths: Sequence[int], ids: Sequence[int], freqs: Sequence[int],
                n_terms: int) -> SparseTerms:
    """CSR from every document's term ids and frequencies laid end to end, with each
    document's number of terms."""
    counts = np.asarray(lengths, dtype=np.int64)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.asarray(ids, dtype=np.int32)
    data = np.asarray(freqs, dtype=np.float32)
    if len(indices) != int(indptr[-1]) or len(data) != len(indices):
        raise ValueError("term ids, frequencies and document lengths do not fit together")
    rows = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    return SparseTerms(indptr, indices, data, rows, n_terms)


def group_rows(m: SparseTerms, groups: np.ndarray, n_groups: int) -> SparseTerms:
    """Sum rows by group (chunks -> files)."""
    if m.indices.size == 0:
        return SparseTerms(np.zeros(n_groups + 1, np.int64), m.indices, m.data,
                           m.rows, m.n_terms)
    g = groups[m.rows].astype(np.int64)
    key = g * m.n_terms + m.indices
    uniq, inverse = np.unique(key, return_inverse=True)
    data = np.bincount(inverse, weights=m.data).astype(np.float32)
    rows = (uniq // m.n_terms).astype(np.int32)
    indices = (uniq % m.n_terms).astype(np.int32)
    counts = np.bincount(rows, minlength=n_groups)
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return SparseTerms(indptr, indices, data, rows, m.n_terms)


class BM25:
    """Okapi BM25 over a SparseTerms matrix; query terms weigh 1 + log(frequency)."""

    def __init__(self, m: SparseTerms, k1: float = K1, b: float = B) -> None:
        self.m = m
        self.k1 = k1
        self.b = b
        n = max(m.n_docs, 1)
        df = m.doc_freq()
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        dl = m.doc_lengths()
        avg = float(dl.mean()) if dl.size else 1.0
        self.norm = (k1 * (1.0 - b + b * dl / max(avg, 1e-9))).astype(np.float32)

    @classmethod
    def of_parts(cls, m: SparseTerms, idf: np.ndarray, norm: np.ndarray, k1: float,
                 b: float) -> BM25:
        """BM25 with its statistics given (read back from a snapshot)."""
        if len(idf) != m.n_terms or len(norm) != m.n_docs:
            raise ValueError("BM25 statistics do not fit their matrix")
        out = cls.__new__(cls)
        out.m, out.idf, out.norm, out.k1, out.b = m, idf, norm, k1, b
        return out

    def score(self, query: dict[int, float]) -> np.ndarray:
        """Scores of every document for a {term id: query weight} map."""
        m = self.m
        out = np.zeros(m.n_docs, dtype=np.float32)
        if not query or m.indices.size == 0:
            return out
        weights = np.zeros(m.n_terms, dtype=np.float32)
        ids = np.fromiter(query.keys(), dtype=np.int64)
        weights[ids] = np.fromiter(query.values(), dtype=np.float32) * self.idf[ids]
        w = weights[m.indices]
        sel = np.flatnonzero(w)
        if sel.size == 0:
            return out
        rows = m.rows[sel]
        tf = m.data[sel]
        contrib = w[sel] * tf * (self.k1 + 1.0) / (tf + self.norm[rows])
        return np.bincount(rows, weights=contrib, minlength=m.n_docs).astype(np.float32)


def weigh_query(counts: Counter[str], vocab: Any) -> dict[int, float]:
    """Map query terms to ids with 1 + log(tf) weights; unknown terms drop out."""
    out: dict[int, float] = {}
    for term, n in counts.items():
        tid = vocab.get(term)
        if tid is not None:
            out[tid] = 1.0 + float(np.log(n))
    return out
