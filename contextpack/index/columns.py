"""Compact columns for the index: many strings in one blob, sorted-key lookups.

A list of 50,000 Python strings is slow to build from disk; one UTF-8 blob with an offsets
array is viewed in place from a mapped snapshot, and a string is decoded only when someone
reads it. The warm query path reads a few hundred chunk texts out of tens of thousands.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np


class StringColumn(Sequence[str]):
    """An immutable sequence of strings stored as one UTF-8 blob plus offsets."""

    __slots__ = ("_blob", "_offsets", "_cache")

    def __init__(self, items: Iterable[str] = ()) -> None:
        encoded = [s.encode("utf-8", "surrogatepass") for s in items]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        if encoded:
            np.cumsum([len(b) for b in encoded], out=offsets[1:])
        self._blob: bytes | memoryview = b"".join(encoded)
        self._offsets = offsets
        self._cache: list[str] | None = None

    @classmethod
    def of_parts(cls, blob: Any, offsets: np.ndarray) -> StringColumn:
        """A column over a blob (bytes or a buffer, used in place) and its offsets."""
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0 or \
                int(offsets[-1]) != len(blob) or (np.diff(offsets) < 0).any():
            raise ValueError("string column offsets do not fit their blob")
        out = cls()
        out._blob = memoryview(blob).cast("B") if not isinstance(blob, bytes) else blob
        out._offsets = offsets
        return out

    def parts(self) -> tuple[bytes | memoryview, np.ndarray]:
        """The blob and offsets (what ``of_parts`` takes)."""
        return self._blob, self._offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if self._cache is not None:
            return self._cache[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        a, b = self._offsets[i], self._offsets[i + 1]
        return str(self._blob[a:b], "utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        if self._cache is not None:
            return iter(self._cache)
        return iter(self.tolist())

    def tolist(self) -> list[str]:
        """All strings, decoded once and kept (for code that walks every one)."""
        if self._cache is None:
            bounds = zip(self._offsets[:-1].tolist(), self._offsets[1:].tolist(), strict=True)
            blob = bytes(self._blob)
            if blob.isascii():  # byte offsets are character offsets: one decode
                text = blob.decode("ascii")
                self._cache = [text[a:b] for a, b in bounds]
            else:
                self._cache = [blob[a:b].decode("utf-8", "surrogatepass") for a, b in bounds]
        return self._cache

    def concat(self, other: StringColumn) -> StringColumn:
        """This column followed by ``other``, joined as blobs (nothing is decoded)."""
        out = StringColumn()
        out._blob = b"".join((self._blob, other._blob))  # one copy, not three
        out._offsets = np.concatenate([self._offsets, other._offsets[1:] + self._offsets[-1]])
        return out

    def take(self, rows: Sequence[int] | np.ndarray) -> StringColumn:
        out = StringColumn()
        if len(rows) == 0:
            return out
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self._offsets[rows], self._offsets[rows + 1]
        # Consecutive rows are copied as one slice: an update moves a few long runs.
        cut = np.flatnonzero(np.diff(rows) != 1) + 1
        first = np.concatenate([[0], cut])
        last = np.concatenate([cut, [len(rows)]]) - 1
        blob = memoryview(self._blob)  # slices of a view are not copies
        out._blob = b"".join(blob[a:b] for a, b in
                             zip(starts[first].tolist(), ends[last].tolist(), strict=True))
        out._offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=out._offsets[1:])
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StringColumn):
            return self._blob == other._blob and np.array_equal(self._offsets, other._offsets)
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:  # pragma: no cover - columns are not dict keys
        raise TypeError("StringColumn is unhashable")

    def __repr__(self) -> str:
        return f"StringColumn({len(self)} strings, {len(self._blob):,} bytes)"


class TupleColumn(Sequence[tuple[str, ...]]):
    """Tuples of names (a chunk's definitions or references), stored as a StringColumn."""

    __slots__ = ("_col",)
    SEP = "\x1f"

    def __init__(self, items: Iterable[tuple[str, ...]] = ()) -> None:
        self._col = StringColumn(self.SEP.join(t) for t in items)

    @classmethod
    def of_column(cls, col: StringColumn) -> TupleColumn:
        """Tuples over a column of SEP-joined names."""
        out = cls()
        out._col = col
        return out

    def __len__(self) -> int:
        return len(self._col)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        s = self._col[i]
        return tuple(s.split(self.SEP)) if s else ()

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        for s in self._col:
            yield tuple(s.split(self.SEP)) if s else ()

    def take(self, rows: Sequence[int] | np.ndarray) -> TupleColumn:
        out = TupleColumn()
        out._col = self._col.take(rows)
        return out

    def flat(self) -> tuple[np.ndarray, list[str]]:
        """Every name with its row, in row order: one decode of the whole column."""
        col = self._col
        n = len(col)
        if n == 0 or not col._blob:
            return np.zeros(0, np.int64), []
        raw = np.frombuffer(col._blob, dtype=np.uint8)
        sep = ord(self.SEP)
        per_row = np.bincount(np.searchsorted(col._offsets, np.flatnonzero(raw == sep),
                                              side="right") - 1, minlength=n)
        # a separator between rows too, so one split yields per_row + 1 pieces a row
        joined = np.insert(raw, col._offsets[1:-1], sep).tobytes()
        pieces = joined.decode("utf-8", "surrogatepass").split(self.SEP)
        rows = np.repeat(np.arange(n, dtype=np.int64), per_row + 1)
        filled = np.fromiter(map(len, pieces), np.int64, count=len(pieces)) > 0
        return rows[filled], [p for p in pieces if p]

    def concat(self, other: TupleColumn) -> TupleColumn:
        """This column followed by ``other`` (nothing is decoded)."""
        out = TupleColumn()
        out._col = self._col.concat(other._col)
        return out


class KeyIndex:
    """A read-only map from string keys to integer arrays, searched by bisection over
    sorted keys (loading it decodes nothing)."""

    __slots__ = ("_keys", "_indptr", "_values")

    def __init__(self, mapping: Mapping[str, Sequence[int]] | None = None) -> None:
        mapping = mapping or {}
        keys = sorted(mapping)
        self._keys = StringColumn(keys)
        lengths = [len(mapping[k]) for k in keys]
        self._indptr = np.zeros(len(keys) + 1, dtype=np.int64)
        if keys:
            np.cumsum(lengths, out=self._indptr[1:])
        values = [v for k in keys for v in mapping[k]]
        self._values = np.asarray(values, dtype=np.int64)

    @classmethod
    def of_ids(cls, ids: dict[str, int]) -> KeyIndex:
        """A key -> [id] index, built without per-key lists (a vocabulary)."""
        out = cls()
        keys = sorted(ids)
        out._keys = StringColumn(keys)
        out._indptr = np.arange(len(keys) + 1, dtype=np.int64)
        out._values = np.fromiter((ids[k] for k in keys), np.int64, count=len(keys))
        return out

    @classmethod
    def from_pairs(cls, keys: Sequence[str], key_of: np.ndarray, values: np.ndarray) -> KeyIndex:
        """The index of (keys[key_of[i]], values[i]) pairs; a key's values keep their order.
        ``keys`` are distinct and each has a pair."""
        out = cls()
        order = sorted(range(len(keys)), key=keys.__getitem__)
        out._keys = StringColumn([keys[k] for k in order])
        rank = np.empty(len(keys), np.int64)
        rank[np.asarray(order, np.int64)] = np.arange(len(keys))
        by_key = rank[np.asarray(key_of, np.int64)]
        out._values = np.asarray(values, np.int64)[np.argsort(by_key, kind="stable")]
        out._indptr = np.zeros(len(keys) + 1, np.int64)
        np.cumsum(np.bincount(by_key, minlength=len(keys)), out=out._indptr[1:])
        return out

    @classmethod
    def of_parts(cls, keys: StringColumn, indptr: np.ndarray, values: np.ndarray) -> KeyIndex:
        """An index over sorted keys, their value ranges and the values (``parts``)."""
        if len(indptr) != len(keys) + 1 or (len(keys) and (indptr[0] != 0 or
                                                            int(indptr[-1]) != len(values))):
            raise ValueError("key index ranges do not fit their values")
        out = cls()
        out._keys, out._indptr, out._values = keys, indptr, values
        return out

    def parts(self) -> tuple[StringColumn, np.ndarray, np.ndarray]:
        return self._keys, self._indptr, self._values

    def items(self) -> list[tuple[str, int]]:
        """(key, first value) pairs, decoded in one pass (a vocabulary's terms and ids)."""
        return list(zip(self._keys.tolist(), self._values[self._indptr[:-1]].tolist(),
                        strict=True))

    def _find(self, key: str) -> int:
        i = bisect.bisect_left(self._keys, key)  # type: ignore[arg-type]
        if i < len(self._keys) and self._keys[i] == key:
            return i
        return -1

    def get(self, key: str, default: Any = None) -> Any:
        i = self._find(key)
        if i < 0:
            return default
        return self._values[self._indptr[i] : self._indptr[i + 1]]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) >= 0

    def __getitem__(self, key: str) -> np.ndarray:
        got = self.get(key)
        if got is None:
            raise KeyError(key)
        return got

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> list[str]:
        return list(self._keys)


class Vocabulary:
    """Term -> id. A plain dict while terms are added; bisection over sorted keys once
    loaded from a snapshot, turned back into a dict only if the index grows again (and the
    sorted keys are kept, and stored again as they are, while no term is added)."""

    __slots__ = ("_dict", "_index")

    def __init__(self) -> None:
        self._dict: dict[str, int] | None = {}
        self._index: KeyIndex | None = None

    def get(self, term: str) -> int | None:
        if self._dict is not None:
            return self._dict.get(term)
        assert self._index is not None
        got = self._index.get(term)
        return int(got[0]) if got is not None else None

    def add(self, term: str) -> int:
        d = self.as_dict()
        tid = d.get(term)
        if tid is None:
            tid = d[term] = len(d)
        return tid

    def as_dict(self) -> dict[str, int]:
        """The terms as a dict the caller may add to (ids must stay 0..len-1)."""
        if self._dict is None:
            assert self._index is not None
            self._dict = dict(self._index.items())
        return self._dict

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else len(self._index or ())

    def key_index(self) -> KeyIndex:
        """The terms as sorted keys (kept, and stored again as they are, while no term is
        added)."""
        if self._index is None or (self._dict is not None and len(self._dict) != len(self._index)):
            self._index = KeyIndex.of_ids(self._dict or {})
        return self._index

    @classmethod
    def of_key_index(cls, index: KeyIndex) -> Vocabulary:
        out = cls()
        out._dict, out._index = None, index
        return out
