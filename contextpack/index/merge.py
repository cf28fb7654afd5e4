"""Several indexes -> one: each root (and the in-memory documents) is indexed, and cached,
on its own; a pack over many of them ranks one merged index.

Rows are copied through ``Index.append`` as if the files were new (their chunks, terms,
token counts and vectors are reused, nothing is parsed, counted or embedded again), so the
merged index gets the shared vocabulary, graph and BM25 statistics of the whole, and any
column ``Index`` gains later travels with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..analyze import FileAnalysis
from ..types import Skipped
from .core import Index


def merge_indexes(parts: Sequence[tuple[str, Index]], root: str = "") -> Index:
    """One index holding every file of ``parts``, each path prefixed with its part's
    prefix (``"name/"``, or ``""`` to keep it as it is). Parts share one tokenizer and
    embedder."""
    if not parts:
        raise ValueError("merge_indexes needs at least one index")
    first = parts[0][1]
    for _, ix in parts[1:]:
        if (ix.tokenizer, ix.model_id) != (first.tokenizer, first.model_id):
            raise ValueError(f"cannot merge an index counted with {ix.tokenizer} and "
                             f"embedded with {ix.model_id} into one with {first.tokenizer} "
                             f"and {first.model_id}")
    merged = Index(root, first.tokenizer, first.model_id)
    analyses: list[FileAnalysis] = []
    counts: list[tuple[int, np.ndarray, np.ndarray]] = []
    vectors: list[np.ndarray] | None = []
    for prefix, ix in parts:
        a, c, v = _rows_of(ix, prefix)
        analyses.extend(a)
        counts.extend(c)
        if v is None or vectors is None:
            vectors = None
        else:
            vectors.extend(v)
        merged.skipped.update({prefix + p: s for p, s in ix.skipped.items()})
        merged.scan_skipped.extend(Skipped(prefix + s.path, s.reason, kind=s.kind)
                                     for s in ix.scan_skipped)
    merged.append(analyses, [None] * len(analyses), counts, vectors)
    merged.finalize()
    merged.stats = {"cache": "merged", "parts": len(parts),
                    "files_reindexed": sum(int(ix.stats.get("files_reindexed", 0))
                                           for _, ix in parts)}
    return merged


def _rows_of(ix: Index, prefix: str) -> tuple[list[FileAnalysis],
                                             list[tuple[int, np.ndarray, np.ndarray]],
                                             list[np.ndarray] | None]:
    """Each file of ``ix`` as the analysis, counts and vectors ``Index.append`` takes."""
    terms_of = _chunk_terms(ix)
    dense = ix.dense_vectors()
    analyses, counts = [], []
    vectors: list[np.ndarray] | None = [] if dense is not None else None
    for f, path in enumerate(ix.paths):
        rows = ix.chunks_of_file(f)
        chunks = tuple(dataclasses.replace(ix.chunk(r), path=prefix + path) for r in rows)
        analyses.append(FileAnalysis(
            path=prefix + path,
            digest=ix.digests[f],
            language=ix.languages[f],
            decoded_with="utf-8",
            chunks=chunks,
            terms=tuple(terms_of[r] for r in rows),
            note=ix.notes[f],
            redactions=tuple(ix.redactions[f]),
        ))
        counts.append((int(ix.file_tokens[f]), np.asarray(ix.tok_full[rows.start:rows.stop]),
                       np.asarray(ix.tok_skel[rows.start:rows.stop])))
        if vectors is not None and dense is not None:
            vectors.append(np.asarray(dense[rows.start:rows.stop], np.float32))
    return analyses, counts, vectors


def _chunk_terms(ix: Index) -> list[dict[str, int]]:
    """Each chunk's {term: count}, read back from the sparse matrix and the vocabulary."""
    m = ix.chunk_terms
    if m is None:
        return [{} for _ in range(ix.n_chunks)]
    names = [""] * len(ix.vocab)
    for term, tid in ix.vocab.as_dict().items():
        names[tid] = term
    out: list[dict[str, int]] = []
    indptr, indices, data = m.indptr, m.indices.tolist(), m.data.tolist()
    for r in range(m.n_docs):
        lo, hi = int(indptr[r]), int(indptr[r + 1])
        out.append({names[t]: int(n) for t, n in zip(indices[lo:hi], data[lo:hi], strict=True)})
    return out
