"""The on-disk format of the index, in one place: snapshots and store rows.

Nothing here can run code when it reads: there is no pickle, marshal or object array on any
read path. A snapshot is one file::

    CONTEXTPACK-INDEX\\n
    {header JSON}\\n            format, what the index was built for, small per-file lists,
                               and a table of arrays (name, dtype, shape, offset)
    padding, then each array's raw little-endian bytes, 64-byte aligned
    HMAC-SHA256 (32 bytes)      over everything before it, with the user's key (seal.py)

It is read by mapping the file and viewing the arrays in place (``np.frombuffer``), so a
warm load copies nothing and decodes only the strings someone reads. Only numeric dtypes
are accepted, and only after the MAC has verified.

Store rows (analyses, token counts, vectors of one file version) are JSON or raw arrays,
each behind a MAC bound to its table and key (see ``store.Store``).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np

from .. import graph as graph_mod
from ..lexical import BM25, SparseTerms
from ..redact import Redaction
from ..types import SKIP_KINDS, Chunk, SkipKind
from .columns import KeyIndex, StringColumn, TupleColumn, Vocabulary
from .seal import MAC_BYTES, snapshot_mac

log = logging.getLogger("contextpack")

#: Bump when the snapshot layout or the meaning of a field changes.
FORMAT = 6  # 4: vectors float32; 5: each skipped file has its kind; 6: vectors float16
MAGIC = b"CONTEXTPACK-INDEX\n"
_ALIGN = 64
#: The only dtypes a snapshot may hold: plain numbers, never objects.
_DTYPES = frozenset({"|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4",
                     "<f8"})
_MAX_HEADER = 1 << 30


class Unreadable(Exception):
    """A snapshot that is damaged, foreign or not ours: say why, rebuild it."""


# ------------------------------------------------------------------ the Index <-> parts
def dump_index(index: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """An index as small JSON-able fields and named numeric arrays."""
    meta: dict[str, Any] = {
        "root": index.root, "tokenizer": index.tokenizer, "model_id": index.model_id,
        "paths": list(index.paths), "digests": list(index.digests),
        "stamps": [list(s) for s in index.stamps], "languages": list(index.languages),
        "file_tokens": [int(n) for n in index.file_tokens], "notes": list(index.notes),
        "redactions": [[[r.line, r.kind, r.fingerprint] for r in rs] for rs in index.redactions],
        "skipped": [[p, list(stamp), reason, kind] for p, (stamp, reason, kind) in
                    sorted(index.skipped.items())],
        "stats": _plain(index.stats),
        "n_terms": len(index.vocab),
    }
    arrays: dict[str, np.ndarray] = {}
    for name in ("chunk_file", "starts", "ends", "part", "tok_full", "tok_skel",
                 "file_chunks", "text_crc"):
        arrays[name] = getattr(index, name)
    for name in ("kinds", "symbols", "parents", "texts", "skeletons", "contexts"):
        _put_strings(arrays, name, _as_column(getattr(index, name)))
    for name in ("defs", "refs"):
        col = getattr(index, name)
        _put_strings(arrays, name, (col if isinstance(col, TupleColumn) else TupleColumn(col))._col)
    _put_keys(arrays, "vocab", index.vocab.key_index())
    _put_keys(arrays, "symbols_by_name", index.symbols_by_name)
    _put_keys(arrays, "files_by_name", index.files_by_name)
    _put_keys(arrays, "path_words", index.path_words)
    for name in ("chunk_terms", "file_terms"):
        m = getattr(index, name)
        arrays.update({f"{name}.indptr": m.indptr, f"{name}.indices": m.indices,
                       f"{name}.data": m.data})
    for name in ("chunk_bm25", "file_bm25"):
        bm = getattr(index, name)
        arrays.update({f"{name}.idf": bm.idf, f"{name}.norm": bm.norm})
        meta[name] = [bm.k1, bm.b]
    g = index.graph
    arrays.update({"graph.src": g.src, "graph.dst": g.dst, "graph.weight": g.weight})
    meta["graph_n"] = g.n
    if index.vectors is not None:
        arrays["vectors"] = index.vectors
    return meta, arrays


def load_index(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """The index from ``dump_index``'s parts (arrays are used in place, not copied)."""
    from .core import Index

    try:
        ix = Index(str(meta["root"]), str(meta["tokenizer"]), str(meta["model_id"]))
        ix.paths = [str(p) for p in meta["paths"]]
        ix.digests = [str(d) for d in meta["digests"]]
        ix.stamps = [tuple(int(x) for x in s) for s in meta["stamps"]]
        ix.languages = [str(x) for x in meta["languages"]]
        ix.file_tokens = [int(x) for x in meta["file_tokens"]]
        ix.notes = [str(x) for x in meta["notes"]]
        ix.redactions = [tuple(_redaction(r) for r in rs) for rs in meta["redactions"]]
        ix.skipped = {str(p): (tuple(int(x) for x in stamp), str(reason), _skip_kind(kind))
                      for p, stamp, reason, kind in meta["skipped"]}
        ix.stats = dict(meta["stats"])
        for name in ("chunk_file", "starts", "ends", "part", "tok_full", "tok_skel",
                     "file_chunks", "text_crc"):
            setattr(ix, name, arrays[name])
        for name in ("kinds", "symbols", "parents", "texts", "skeletons", "contexts"):
            setattr(ix, name, _get_strings(arrays, name))
        for name in ("defs", "refs"):
            setattr(ix, name, TupleColumn.of_column(_get_strings(arrays, name)))
        ix.vocab = Vocabulary.of_key_index(_get_keys(arrays, "vocab"))
        ix.symbols_by_name = _get_keys(arrays, "symbols_by_name")
        ix.files_by_name = _get_keys(arrays, "files_by_name")
        ix.path_words = _get_keys(arrays, "path_words")
        n_terms = int(meta["n_terms"])
        for name in ("chunk_terms", "file_terms"):
            setattr(ix, name, SparseTerms.of_csr(arrays[f"{name}.indptr"],
                                                 arrays[f"{name}.indices"],
                                                 arrays[f"{name}.data"], n_terms))
        for name, terms in (("chunk_bm25", ix.chunk_terms), ("file_bm25", ix.file_terms)):
            assert terms is not None
            k1, b = meta[name]
            setattr(ix, name, BM25.of_parts(terms, arrays[f"{name}.idf"],
                                            arrays[f"{name}.norm"], float(k1), float(b)))
        ix.graph = graph_mod.Graph(arrays["graph.src"], arrays["graph.dst"],
                                   arrays["graph.weight"], int(meta["graph_n"]))
        ix.vectors = arrays.get("vectors")
        if ix.vectors is not None and ix.vectors.dtype != np.float16:
            raise ValueError(f"vectors of dtype {ix.vectors.dtype}")
    except (KeyError, TypeError, ValueError) as exc:
        raise Unreadable(f"has a malformed field ({type(exc).__name__}: {exc})") from exc
    _check_shapes(ix)
    return ix


def _skip_kind(value: object) -> SkipKind:
    """A skip kind read back: one of ``types.SKIP_KINDS``, else the file is malformed."""
    if value not in SKIP_KINDS:
        raise ValueError(f"unknown skip kind {value!r}")
    return cast(SkipKind, value)


def _check_shapes(ix: Any) -> None:
    """Columns that must line up, do: a well-formed file of the wrong shape is refused."""
    n, f = len(ix.starts), len(ix.paths)
    per_chunk = [len(getattr(ix, k)) for k in ("ends", "part", "tok_full", "tok_skel",
                                              "text_crc", "chunk_file", "kinds", "symbols",
                                              "parents", "texts", "skeletons", "contexts",
                                              "defs", "refs")]
    per_file = [len(getattr(ix, k)) for k in ("digests", "stamps", "languages",
                                             "file_tokens", "notes", "redactions")]
    if any(x != n for x in per_chunk) or any(x != f for x in per_file) or \
            len(ix.file_chunks) != f + 1 or ix.chunk_terms.n_docs != n or \
            ix.file_terms.n_docs != f or (ix.vectors is not None and len(ix.vectors) != n):
        raise Unreadable("has columns of different lengths")


def _plain(value: Any) -> Any:
    """Stats as JSON values (numpy scalars become Python numbers)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item")
                                 else str(o)))


def _as_column(col: Any) -> StringColumn:
    return col if isinstance(col, StringColumn) else StringColumn(col)


def _put_strings(arrays: dict[str, np.ndarray], name: str, col: StringColumn) -> None:
    blob, offsets = col.parts()
    arrays[f"{name}.blob"] = np.frombuffer(blob, np.uint8)
    arrays[f"{name}.offsets"] = offsets


def _get_strings(arrays: dict[str, np.ndarray], name: str) -> StringColumn:
    return StringColumn.of_parts(arrays[f"{name}.blob"], arrays[f"{name}.offsets"])


def _put_keys(arrays: dict[str, np.ndarray], name: str, keys: KeyIndex) -> None:
    col, indptr, values = keys.parts()
    _put_strings(arrays, f"{name}.keys", col)
    arrays[f"{name}.indptr"] = indptr
    arrays[f"{name}.values"] = values


def _get_keys(arrays: dict[str, np.ndarray], name: str) -> KeyIndex:
    return KeyIndex.of_parts(_get_strings(arrays, f"{name}.keys"), arrays[f"{name}.indptr"],
                             arrays[f"{name}.values"])


# ------------------------------------------------------------------ snapshot files
def snapshot_chunks(meta: dict[str, Any], arrays: dict[str, np.ndarray],
                    expect: dict[str, Any]) -> Iterator[bytes | memoryview]:
    """The bytes of a snapshot file, before its MAC, in order."""
    table: list[tuple[str, str, list[int], int]] = []
    offset = 0
    contiguous: dict[str, np.ndarray] = {}
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        if a.dtype.byteorder == ">":  # pragma: no cover - big-endian hosts
            a = a.astype(a.dtype.newbyteorder("<"))
        dtype = a.dtype.str
        if dtype not in _DTYPES:
            raise TypeError(f"index column {name} has dtype {dtype}: not storable")
        contiguous[name] = a
        table.append((name, dtype, list(a.shape), offset))
        offset += _padded(a.nbytes)
    meta_bytes = _json(meta)
    header = dict(expect, format=FORMAT, arrays=table, body=offset, meta_len=len(meta_bytes))
    # the small header first, on a line of its own: read_header needs no more
    head = MAGIC + _json(header) + b"\n" + meta_bytes + b"\n"
    yield head + b"\0" * (_padded(len(head)) - len(head))
    for name, _, _, _ in table:
        a = contiguous[name]
        yield a.tobytes() if a.nbytes < 4096 else a.reshape(-1).view(np.uint8).data
        if _padded(a.nbytes) != a.nbytes:
            yield b"\0" * (_padded(a.nbytes) - a.nbytes)


def read_snapshot(path: Path, expect: dict[str, Any], key: bytes,
                  verified: Callable[[os.stat_result], bool] | None = None) -> Any:
    """The index in a snapshot file. Raises ``Unreadable`` (with why) for a file that is
    damaged, was not written with ``key``, or was built for something else.

    ``verified(st)`` may vouch for the opened file as it is (its stat unchanged since its
    MAC last verified), which spares hashing every byte of it."""
    mm, st = _map(path)
    size = len(mm)
    if size < len(MAGIC) + MAC_BYTES or mm[: len(MAGIC)] != MAGIC:
        raise Unreadable("is not a contextpack index (an older format, or another file)")
    view = memoryview(mm)
    if verified is None or not verified(st):
        mac = snapshot_mac(key)
        mac.update(view[: size - MAC_BYTES])
        import hmac

        if not hmac.compare_digest(mac.digest(), bytes(view[size - MAC_BYTES :])):
            raise Unreadable("was not written by this installation (committed, copied, "
                             "or edited)")
    end = mm.find(b"\n", len(MAGIC), min(size, _MAX_HEADER))
    if end < 0:
        raise Unreadable("has a damaged header")
    try:
        header = json.loads(bytes(view[len(MAGIC) : end]).decode("utf-8", "surrogatepass"))
    except ValueError as exc:
        raise Unreadable("has a damaged header") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Unreadable(f"has format {header.get('format') if isinstance(header, dict) else '?'}"
                         f" (this contextpack reads {FORMAT})")
    for k, v in expect.items():
        if header.get(k) != v:
            raise Unreadable(f"was built for {k}={header.get(k)!r}, not {v!r}")
    try:
        meta_end = end + 1 + int(header["meta_len"])
        meta = json.loads(bytes(view[end + 1 : meta_end]).decode("utf-8", "surrogatepass"))
    except (KeyError, TypeError, ValueError) as exc:
        raise Unreadable("has damaged file lists") from exc
    if not isinstance(meta, dict):
        raise Unreadable("has damaged file lists")
    arrays = _arrays(view, header, _padded(meta_end + 1), size - MAC_BYTES)
    return load_index(meta, arrays)


def _arrays(view: memoryview, header: dict[str, Any], base: int,
            limit: int) -> dict[str, np.ndarray]:
    out = {}
    try:
        for name, dtype, shape, offset in header["arrays"]:
            if dtype not in _DTYPES:
                raise Unreadable(f"holds column {name!r} of dtype {dtype!r}")
            dt = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            start = base + int(offset)
            if count < 0 or int(offset) < 0 or start + count * dt.itemsize > limit:
                raise Unreadable(f"has column {name!r} out of bounds")
            a = np.frombuffer(view, dt, count, start).reshape([int(s) for s in shape])
            out[str(name)] = a
    except (TypeError, ValueError) as exc:
        raise Unreadable(f"has a damaged column table ({exc})") from exc
    return out


def _map(path: Path) -> tuple[mmap.mmap | bytes, os.stat_result]:
    """The file's bytes, mapped, and its stat: opened without following a link, and only
    if regular."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Unreadable(f"cannot be opened ({exc.strerror})") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable("is not a regular file")
        if st.st_size == 0:
            return b"", st
        return mmap.mmap(fd, st.st_size, prot=mmap.PROT_READ), st
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from exc
    finally:
        os.close(fd)


def read_header(path: Path) -> dict[str, Any] | None:
    """A snapshot's header alone, unverified (only to tell which version wrote a file
    that may be deleted), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            head = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
    except OSError:
        return None
    if not head.startswith(MAGIC):
        return None
    line = head[len(MAGIC) :].split(b"\n", 1)[0]
    try:
        header = json.loads(line)
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8", "surrogatepass")


def _padded(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


# ------------------------------------------------------------------ store rows
def encode_analysis(a: Any) -> bytes:
    """A FileAnalysis as JSON (its chunks as rows: the file's path and language once)."""
    chunks = [[c.start_line, c.end_line, c.kind, c.symbol, c.text, c.skeleton, c.context,
               c.parent, c.part, c.parts, list(c.defs), list(c.refs)] for c in a.chunks]
    body = {"path": a.path, "digest": a.digest, "language": a.language,
            "decoded_with": a.decoded_with, "note": a.note,
            "redactions": [[r.line, r.kind, r.fingerprint] for r in a.redactions],
            "chunks": chunks, "terms": list(a.terms)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


def _redaction(row: Any) -> Redaction:
    """[line, kind] or [line, kind, fingerprint] (keyed hashes: see redact.Scrubber)."""
    line, kind, *rest = row
    return Redaction(int(line), str(kind), str(rest[0]) if rest else "")


def decode_analysis(data: bytes | memoryview) -> Any:
    """The FileAnalysis of ``encode_analysis``; ValueError if it is not one."""
    from ..analyze import FileAnalysis

    try:
        body = json.loads(bytes(data).decode("utf-8", "surrogatepass"))
        path, lang = str(body["path"]), str(body["language"])
        chunks = tuple(
            Chunk(path=path, start_line=int(s), end_line=int(e), kind=str(k), symbol=str(sym),
                  language=lang, text=str(text), skeleton=str(skel), context=str(ctx),
                  parent=str(parent), part=int(part), parts=int(parts),
                  defs=tuple(str(x) for x in defs), refs=tuple(str(x) for x in refs))
            for s, e, k, sym, text, skel, ctx, parent, part, parts, defs, refs in body["chunks"])
        terms = tuple({str(t): int(n) for t, n in d.items()} for d in body["terms"])
        if len(terms) != len(chunks):
            raise ValueError("terms and chunks differ in number")
        return FileAnalysis(path=path, digest=str(body["digest"]), language=lang,
                            decoded_with=str(body["decoded_with"]), chunks=chunks,
                            terms=terms, note=str(body["note"]),
                            redactions=tuple(_redaction(r) for r in body["redactions"]))
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not an analysis: {exc}") from exc


def encode_counts(value: tuple[int, np.ndarray, np.ndarray]) -> bytes:
    """A file's token count and its chunks' full and skeleton counts."""
    ftok, full, skel = value
    head = np.asarray([ftok, len(full)], "<i8").tobytes()
    return head + np.asarray(full, "<i4").tobytes() + np.asarray(skel, "<i4").tobytes()


def decode_counts(data: bytes | memoryview) -> tuple[int, np.ndarray, np.ndarray]:
    head = np.frombuffer(data, "<i8", 2)
    ftok, n = int(head[0]), int(head[1])
    if n < 0 or len(data) != 16 + 8 * n:
        raise ValueError("counts of the wrong length")
    rest = np.frombuffer(data, "<i4", 2 * n, 16)
    return ftok, rest[:n].astype(np.int32), rest[n:].astype(np.int32)


def encode_vectors(v: np.ndarray) -> bytes:
    """Chunk vectors of one file, half precision, with their shape."""
    v = np.asarray(v, "<f2")
    return np.asarray(v.shape, "<i8").tobytes() + v.tobytes()


def decode_vectors(data: bytes | memoryview) -> np.ndarray:
    shape = np.frombuffer(data, "<i8", 2)
    n, d = int(shape[0]), int(shape[1])
    if n < 0 or d < 0 or len(data) != 16 + 2 * n * d:
        raise ValueError("vectors of the wrong length")
    return np.frombuffer(data, "<f2", n * d, 16).reshape(n, d).copy()


CODECS: dict[str, tuple[Callable[[Any], bytes], Callable[[bytes | memoryview], Any]]] = {
    "analysis": (encode_analysis, decode_analysis),
    "counts": (encode_counts, decode_counts),
    "vectors": (encode_vectors, decode_vectors),
}
