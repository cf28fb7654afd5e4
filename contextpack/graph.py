"""The code's own graph: chunks linked by the names they define and reference.

A chunk that calls ``bulk_create``, reads ``.queryset`` or names the type ``QuerySet``
gets an edge to each chunk defining that name. A name defined in many places (``get``,
``__init__``) says little about which one is meant, so its edges share one unit of weight,
and names defined more than ``MAX_DEFS`` times make no edges at all. Ranking runs
personalized PageRank over the graph (undirected: callers matter as much as callees).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_DEFS = 30
# References that are almost never the definition the reader needs.
IGNORED_NAMES = frozenset({"__init__", "self", "cls", "super", "object", "str", "int", "len",
                           "print", "list", "dict", "set", "tuple", "bool", "float", "type",
                           "isinstance", "range", "None", "True", "False", "main", "new",
                           "String", "Object", "string", "void"})


@dataclass(slots=True)
class Graph:
    """Symmetric weighted edges between chunks, normalised per source for PageRank."""

    src: np.ndarray  # int32
    dst: np.ndarray  # int32
    weight: np.ndarray  # float32, sums to 1 over each source's edges
    n: int
    # (first edge of each source, sources without edges), made on first walk and kept
    _walk: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False,
                                                        compare=False)

    def neighbours(self, i: int) -> np.ndarray:
        return self.dst[self.src == i]

    def walk_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each source's edges start (``n + 1`` offsets; edges come sorted by
        source, as ``build`` makes them) and the nodes with no edge out."""
        if self._walk is None:
            degree = np.bincount(self.src, minlength=self.n)
            starts = np.zeros(self.n + 1, np.int64)
            np.cumsum(degree, out=starts[1:])
            self._walk = (starts, np.flatnonzero(degree == 0))
        return self._walk


def build(defs: list[tuple[str, ...]], refs: list[tuple[str, ...]], chunk_file: np.ndarray,
          n_files: int) -> Graph:
    """Edges from each reference to the chunks defining that name."""
    def_rows = np.asarray([i for i, ds in enumerate(defs) for _ in ds], np.int64)
    ref_rows = np.asarray([i for i, rs in enumerate(refs) for _ in rs], np.int64)
    return build_flat(len(defs), def_rows, [d for ds in defs for d in ds],
                      ref_rows, [r for rs in refs for r in rs])


def build_flat(n: int, def_rows: np.ndarray, def_names: list[str], ref_rows: np.ndarray,
               ref_names: list[str]) -> Graph:
    """``build`` over flat (chunk, name) pairs in chunk order, as ``TupleColumn.flat``
    gives them without making a tuple per chunk."""
    names: dict[str, int] = {}
    d_name = [-1 if name in IGNORED_NAMES else names.setdefault(name, len(names))
              for name in def_names]
    r_name = [names.get(name, -1) for name in ref_names]
    return build_ids(n, np.asarray(def_rows, np.int64), np.asarray(d_name, np.int64),
                     np.asarray(ref_rows, np.int64), np.asarray(r_name, np.int64), len(names))


def build_ids(n: int, def_rows: np.ndarray, def_ids: np.ndarray, ref_rows: np.ndarray,
              ref_ids: np.ndarray, n_names: int) -> Graph:
    """``build`` over (chunk, name id) pairs in chunk order; a negative id makes no edge.

    Only which pairs share a name matters, never the ids' values, so any numbering of the
    names gives the same graph (an index updated in place keeps its own numbering).
    """
    dn = np.asarray(def_ids, np.int64)
    dc = np.asarray(def_rows, np.int32)[dn >= 0]
    dn = dn[dn >= 0]
    rn = np.asarray(ref_ids, np.int64)
    rc = np.asarray(ref_rows, np.int32)[rn >= 0]
    rn = rn[rn >= 0]
    if not rc.size:
        z = np.zeros(0, np.int32)
        return Graph(z, z, np.zeros(0, np.float32), n)
    order = np.argsort(dn, kind="stable")
    dn, dc = dn[order], dc[order]
    count = np.bincount(dn, minlength=n_names)
    first = np.zeros(n_names + 1, np.int64)
    np.cumsum(count, out=first[1:])
    k = count[rn]
    ok = (k > 0) & (k <= MAX_DEFS)
    rc, rn, k = rc[ok], rn[ok], k[ok]
    src = np.repeat(rc, k)
    offs = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    dst = dc[np.repeat(first[rn], k) + offs]
    w = np.repeat(1.0 / k, k).astype(np.float32)
    keep = src != dst
    src, dst, w = src[keep], dst[keep], w[keep]
    # both directions, merged
    s2 = np.concatenate([src, dst]).astype(np.int64)
    d2 = np.concatenate([dst, src]).astype(np.int64)
    w2 = np.concatenate([w, w])
    uniq, inv = _unique(s2 * n + d2, n * n)
    wsum = np.bincount(inv, weights=w2).astype(np.float32)
    s3 = (uniq // n).astype(np.int32)
    d3 = (uniq % n).astype(np.int32)
    out_w = np.bincount(s3, weights=wsum, minlength=n)
    wn = (wsum / np.maximum(out_w[s3], 1e-12)).astype(np.float32)
    return Graph(s3, d3, wn, n)


def _unique(keys: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for keys in ``[0, bound)``, a few times
    faster: each key is packed with its position into one integer, so a plain sort
    orders them (no argsort), ties by position."""
    shift = max(len(keys) - 1, 1).bit_length()
    if bound <= 1 or (bound - 1).bit_length() + shift > 62:
        return np.unique(keys, return_inverse=True)  # type: ignore[no-any-return]
    packed = np.sort((keys << shift) | np.arange(len(keys), dtype=np.int64))
    order = packed & ((1 << shift) - 1)
    ordered = packed >> shift
    first = np.ones(len(keys), bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inv = np.empty(len(keys), np.int64)
    inv[order] = np.cumsum(first) - 1
    return ordered[first], inv


def pagerank(g: Graph, seed: np.ndarray, alpha: float = 0.25, iterations: int = 12,
             tol: float = 1e-4) -> np.ndarray:
    """Personalized PageRank: the walk restarts at ``seed`` (a distribution) with
    probability ``alpha``; mass at nodes with no edges returns to the seed."""
    total = float(seed.sum())
    if total <= 0 or g.src.size == 0:
        return seed / max(total, 1e-12)
    p = (seed / total).astype(np.float32)
    r = p.copy()
    starts, no_out = g.walk_tables()
    by_source = bool(np.all(g.src[1:] >= g.src[:-1]))
    spread_buf = np.empty(g.src.size, np.float32)
    for _ in range(iterations):
        spread = _spread(g, r, starts if by_source else None, spread_buf)
        dangling = float(r[no_out].sum())
        nxt = (alpha * p + (1 - alpha) * (spread + dangling * p)).astype(np.float32)
        done = float(np.abs(nxt - r).sum()) < tol
        r = nxt
        if done:  # restarts make the walk contract fast; stop once it has settled
            break
    return r


def _spread(g: Graph, r: np.ndarray, starts: np.ndarray | None, buf: np.ndarray) -> np.ndarray:
    """Each node's inflow ``sum(r[src] * weight)`` over its edges, summed in edge order.

    While few nodes hold mass (the first steps from a handful of seeds) only their edges
    are summed: the others add exact zeros, so the sums are the same to the bit.
    """
    active = np.flatnonzero(r) if starts is not None else None
    if starts is not None and active is not None and active.size * 8 < g.n:
        lengths = starts[active + 1] - starts[active]
        offsets = np.cumsum(lengths) - lengths
        edges = np.repeat(starts[active] - offsets, lengths) + np.arange(int(lengths.sum()))
        return np.bincount(g.dst[edges], weights=r[g.src[edges]] * g.weight[edges],
                           minlength=g.n)
    np.take(r, g.src, out=buf)
    np.multiply(buf, g.weight, out=buf)
    return np.bincount(g.dst, weights=buf, minlength=g.n)


def path_names(paths: list[str]) -> dict[str, list[int]]:
    """Names a query may use for a file: its path, dotted module, file name and stem."""
    out: dict[str, list[int]] = {}
    for f, p in enumerate(paths):
        keys = {p}
        name = p.rsplit("/", 1)[-1]
        keys.add(name)
        stem = name.rsplit(".", 1)[0] if "." in name else name
        no_ext = p.rsplit(".", 1)[0] if "." in name else p
        dotted = no_ext.replace("/", ".")
        keys.add(dotted)
        if dotted.endswith(".__init__"):
            keys.add(dotted[: -len(".__init__")])
            keys.add(p.rsplit("/", 1)[0] if "/" in p else p)
        if stem not in ("__init__", "index", "mod", "main"):
            keys.add(stem)
        for k in keys:
            out.setdefault(k, []).append(f)
    return out
