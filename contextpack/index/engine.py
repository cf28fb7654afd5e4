"""Past one machine: the per-file work of an index build as tasks on a Dask cluster.

The map (redact, chunk, count, embed one file) is a pure function of the file's bytes and
of the tokenizer and embedder, so it can run anywhere; the reduce (vocabulary, BM25
statistics, reference graph, name tables, the snapshot) runs where the command runs, in
``Index.append`` and ``Index.finalize``, exactly as after a single-machine build. Files
already in the store (by content) are never sent; sources travel to the workers as bytes
(no shared filesystem needed), in batches; the rows that come back are written to the
store under the same content keys a local build writes, so later builds, local or not,
reuse them and every pack is byte-identical.

A task lost with its worker is run again elsewhere (Dask reschedules it; ``retries``
covers errors raised on a worker). A file that fails on a worker is skipped with the
reason, as on one machine. Install with ``pip install 'contextpack[dask]'``; see
docs/scaling.md for a multi-node cluster.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analyze import FileAnalysis, analyze
from ..chunk.languages import is_test_path
from ..embed import Embedder
from ..errors import ConfigError
from ..tokens import Tokenizer
from ..types import Chunk, SourceFile, pickled_by_fields
from .persist import encode_analysis

Counts = tuple[int, np.ndarray, np.ndarray]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class FileRows:
    """Everything the index keeps about one file version, or why it failed."""

    analysis: FileAnalysis | None
    counts: Counts | None
    vectors: np.ndarray | None
    error: str = ""
    # redact.run_fingerprints of the file's chunks; None: not taken (scrub every chunk)
    runs: frozenset[int] | None = None
    # the analysis as the store keeps it (persist.encode_analysis), made on the worker
    encoded: bytes | None = None


def count_texts(a: FileAnalysis) -> list[str]:
    """The texts whose token counts the index keeps for a file: each chunk, and each
    skeleton that differs from its chunk (in that order). Not the whole file: a pack
    holds chunks, never a file's text as one piece, and counting every file twice cost
    half the counting time of a cold index."""
    return [*(c.text for c in a.chunks),
            *(c.skeleton for c in a.chunks if c.skeleton != c.text)]


def counts_from(a: FileAnalysis, n: Sequence[int]) -> Counts:
    """A file's (tokens, chunk counts, skeleton counts) from counts of ``count_texts``;
    its tokens are its chunks' (what reports and the fits-everything test weigh)."""
    full = np.asarray(n[: len(a.chunks)], np.int32)
    skel = full.copy()
    pos = len(a.chunks)
    for j, c in enumerate(a.chunks):
        if c.skeleton != c.text:
            skel[j] = n[pos]
            pos += 1
    return int(full.sum()), full, skel


def embed_text(c: Chunk) -> str:
    """What the embedder reads for a chunk: where it is, what it is, then its text."""
    head = f"{c.path} {c.symbol}".strip()
    return f"{head}\n{c.text}"


def map_batch(batch: list[SourceFile], tokenizer: Tokenizer, embedder: Embedder | None,
              redact: bool, encode: bool = True) -> list[FileRows]:
    """The rows of a batch of files, as a single-machine build computes them: each file
    analyzed on its own, then the batch's texts counted in one call and embedded in one
    call (per-call overhead is most of the cost for small files). A file that fails is
    reported, never the batch. ``encode``: also each analysis as the store keeps it."""
    analyses: list[FileAnalysis | str] = []
    for src in batch:
        try:
            analyses.append(analyze(src, redact=redact))
        except Exception as exc:  # a bug on one file must not cost the others
            analyses.append(f"failed on a worker: {type(exc).__name__}: {exc}")
    good = [a for a in analyses if isinstance(a, FileAnalysis)]
    done = iter(zip(*count_and_embed(good, tokenizer, embedder), strict=True))
    out = []
    for got in analyses:
        if isinstance(got, str):
            out.append(FileRows(None, None, None, got))
        else:
            c, v = next(done)
            out.append(FileRows(got, c, v, runs=_runs(got) if redact else None,
                                encoded=encode_analysis(got) if encode else None))
    return out


def _runs(a: FileAnalysis) -> frozenset[int]:
    """What lets the main process pass over this file when it takes the secrets found in
    other files out of every file: hashed here, on the workers' cores."""
    from ..redact import run_fingerprints

    # The chunks' texts hold every line a skeleton or context shows.
    return run_fingerprints(c.text for c in a.chunks)


def count_and_embed(analyses: Sequence[FileAnalysis], tokenizer: Tokenizer,
                    embedder: Embedder | None
                    ) -> tuple[list[Counts], list[np.ndarray | None]]:
    """Each file's token counts and (float16) chunk vectors."""
    vectors: list[np.ndarray | None] = [None] * len(analyses)
    if embedder is not None:
        vectors = list(embed_files(analyses, embedder))
    return count_files(analyses, tokenizer), vectors


def count_files(analyses: Sequence[FileAnalysis], tokenizer: Tokenizer) -> list[Counts]:
    """Each file's token counts, all its texts counted in one call."""
    groups = [count_texts(a) for a in analyses]
    n = tokenizer.count_many([t for g in groups for t in g])
    counts, pos = [], 0
    for a, g in zip(analyses, groups, strict=True):
        counts.append(counts_from(a, n[pos : pos + len(g)]))
        pos += len(g)
    return counts


#: Bump when what is embedded changes (``embed_text``, which chunks): the store and the
#: snapshots key vectors by it.
EMBED_VERSION = 2


def embeds(path: str) -> bool:
    """Whether a file's chunks are embedded. Tests are not: two thirds of Django's chunks
    and over half its embedding time, for files ranking weighs down and questions name
    (a test is found by its words and names, and by the code it calls)."""
    return not is_test_path(path)


def embed_files(analyses: Sequence[FileAnalysis], embedder: Embedder) -> list[np.ndarray]:
    """Each file's chunk vectors (float16, a row a chunk; zeros for files not embedded),
    all texts embedded in one call."""
    embedded = [embeds(a.path) for a in analyses]
    texts = [embed_text(c) for a, e in zip(analyses, embedded, strict=True) if e
             for c in a.chunks]
    allv = np.asarray(embedder.embed_documents(texts), np.float32) if texts else \
        np.zeros((0, embedder.dimension), np.float32)
    out, pos = [], 0
    for a, e in zip(analyses, embedded, strict=True):
        if not e:
            out.append(np.zeros((len(a.chunks), embedder.dimension), np.float16))
            continue
        out.append(allv[pos : pos + len(a.chunks)].astype(np.float16))
        pos += len(a.chunks)
    return out


#: Below this many files one process maps them (forking costs more than it saves).
PARALLEL_MIN_FILES = 64
# what every batch is mapped with: map_batch's tokenizer, embedder, redact and encode
_Job = tuple[Tokenizer, "Embedder | None", bool, bool]
_JOB: _Job | None = None


class ProcessEngine:
    """Runs the per-file map in worker processes of this machine (the default engine).

    Each worker analyzes, counts and embeds its files, so the three stages keep every core
    busy together, and the main process only receives rows: run one after another, each
    stage left cores idle at its start and end, and the main process's share ran alone.
    """

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs

    def map_files(self, sources: Sequence[SourceFile], tokenizer: Tokenizer,
                  embedder: Embedder | None, redact: bool,
                  progress: Callable[[str, int, int], None],
                  encode: bool = True) -> list[FileRows]:
        """The rows of every source, in order (``encode``: see ``map_batch``)."""
        from ..embed import _cpus, _may_fork

        jobs = self.jobs or _cpus()
        progress("analyzing", 0, len(sources))
        if jobs <= 1 or len(sources) < PARALLEL_MIN_FILES or not _may_fork():
            out: list[FileRows] = []
            for batch in _batches(sources, 1 << 18):
                out += map_batch(batch, tokenizer, embedder, redact, encode)
                progress("analyzing", len(out), len(sources))
            return out
        return self._in_workers(sources, (tokenizer, embedder, redact, encode), progress, jobs)

    @staticmethod
    def _in_workers(sources: Sequence[SourceFile], job: _Job,
                    progress: Callable[[str, int, int], None], jobs: int) -> list[FileRows]:
        global _JOB
        from ..analyze import worker_pool

        # Batches of about 1/8 of a worker's share, 32-128 KB of text: small enough to
        # keep the cores evenly loaded (and under the size where counting starts threads),
        # large enough to amortise a task's pickling.
        total = sum(len(s.text) for s in sources)
        batches = _batches(sources, max(1 << 15, min(1 << 17, total // (jobs * 8))))
        out = []
        # The tokenizer and embedder reach the workers by the fork, not pickled per task.
        _JOB = job
        try:
            with worker_pool(jobs) as pool:
                for rows in pool.map(_map_forked, batches):
                    out += rows
                    progress("analyzing", len(out), len(sources))
        finally:
            _JOB = None
        return out


def _map_forked(batch: list[SourceFile]) -> list[FileRows]:
    assert _JOB is not None, "set by the parent before the fork"
    from .. import embed

    embed.IN_WORKER = True  # a worker has its core: an embedder must not fork more
    return map_batch(batch, *_JOB)


class DaskEngine:
    """Runs the per-file map on a Dask cluster: ``DaskEngine("tcp://host:8786")``, or
    any ``distributed.Client`` (a ``LocalCluster``'s, in tests)."""

    name = "dask"

    def __init__(self, scheduler: Any, batch_bytes: int = 4 << 20, retries: int = 2,
                 timeout: float = 30.0) -> None:
        self.scheduler = scheduler
        self.batch_bytes = batch_bytes
        self.retries = retries
        self.timeout = timeout

    def _client(self) -> Any:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ConfigError("--engine dask needs Dask: pip install 'contextpack[dask]'",
                              "dask") from exc
        if isinstance(self.scheduler, Client):
            return self.scheduler
        try:
            return Client(self.scheduler, timeout=self.timeout, set_as_default=False)
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {self.scheduler!r}: {exc}",
                              str(self.scheduler)) from exc

    def map_files(self, sources: Sequence[SourceFile], tokenizer: Tokenizer,
                  embedder: Embedder | None, redact: bool,
                  progress: Callable[[str, int, int], None],
                  encode: bool = True) -> list[FileRows]:
        """The rows of every source, in order (``encode``: see ``map_batch``)."""
        if not sources:
            return []
        from distributed import as_completed

        client = self._client()
        try:
            # one copy of the tokenizer and embedder per worker, not one per task
            tok = client.scatter(tokenizer, broadcast=True, hash=False)
            emb = client.scatter(embedder, broadcast=True, hash=False) if embedder else None
            batches = _batches(sources, self.batch_bytes)
            with warnings.catch_warnings():
                # The sources travel inside the task graph on purpose: the scheduler then
                # holds them, and can run a batch again when its worker dies (scattered
                # data would die with the worker). Dask warns about large graphs.
                warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
                futures = client.map(map_batch, batches, tokenizer=tok, embedder=emb,
                                     redact=redact, encode=encode, retries=self.retries,
                                     pure=False)
            position = {f.key: i for i, f in enumerate(futures)}
            results: list[list[FileRows] | None] = [None] * len(batches)
            done = 0
            for future in as_completed(futures, loop=client.loop):
                i = position[future.key]
                results[i] = future.result()
                done += len(batches[i])
                progress(f"mapping on {self._workers(client)} workers", done, len(sources))
            return [rows for batch in results for rows in (batch or [])]
        finally:
            if client is not self.scheduler:
                client.close()

    @staticmethod
    def _workers(client: Any) -> int:
        try:
            return len(client.scheduler_info().get("workers", {}))
        except Exception:  # pragma: no cover - a scheduler going away mid-build
            return 0


def _batches(sources: Sequence[SourceFile], limit: int) -> list[list[SourceFile]]:
    """Consecutive sources in batches of about ``limit`` bytes of text (at least one
    file each): few enough tasks to keep the scheduler light, enough to spread."""
    out: list[list[SourceFile]] = []
    cur: list[SourceFile] = []
    size = 0
    for src in sources:
        cur.append(src)
        size += len(src.text)
        if size >= limit:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def get_engine(name: str, scheduler: str | None) -> DaskEngine | None:
    """The engine for ``--engine NAME`` (None: this machine's processes)."""
    if name == "local":
        if scheduler:
            raise ConfigError("--scheduler needs --engine dask", scheduler)
        return None
    if name == "dask":
        if not scheduler:
            raise ConfigError("--engine dask needs --scheduler ADDRESS (tcp://host:8786)",
                              name)
        return DaskEngine(scheduler)
    raise ConfigError(f"unknown engine {name!r}; choose local or dask", name)
