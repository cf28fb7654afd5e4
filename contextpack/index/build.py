"""Files on disk -> an up-to-date ``Index``: plan what changed, read, analyze, count and
embed only that, reuse the rest from the last snapshot or the content-addressed store."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..analyze import FileAnalysis, analysis_tag, scrub_analysis
from ..embed import Embedder
from ..errors import CacheError
from ..redact import Scrubber
from ..sources import FileStat, Scan, SourceOptions, read_source, scan
from ..tokens import Tokenizer
from ..types import Skipped, SourceFile
from .core import Index, Progress, _no_progress
from .engine import (
    EMBED_VERSION,
    Counts,
    DaskEngine,
    FileRows,
    ProcessEngine,
    count_files,
    embed_files,
)
from .persist import FORMAT, encode_analysis
from .seal import cache_key
from .store import (
    Store,
    cache_dir_for,
    prepare_folder,
    read_header,
    read_snapshot,
    remove_leftovers,
    snapshot_path,
    snapshot_writer,
)

log = logging.getLogger("contextpack")


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """What an index depends on besides the files themselves."""

    sources: SourceOptions = SourceOptions()
    cache_dir: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    # False: use the content store but keep no per-root snapshot (many one-off roots)
    snapshot: bool = True
    redact: bool = True  # replace secrets with [REDACTED:kind] markers (see redact.py)
    engine: DaskEngine | None = None  # runs the per-file map on a cluster (engine.py)
    # Return the index before the cache is written; ``settle_writes()`` waits for the
    # writes (a one-shot caller ranks and packs meanwhile).
    write_behind: bool = False


def _variant(tokenizer: Tokenizer, embedder: Embedder | None, redact: bool = True,
             sources: SourceOptions | None = None) -> str:
    """Everything besides the files that changes what an index holds: a snapshot is only
    reused for the same variant (a file skipped as too large under one size limit is not
    skipped under another)."""
    model = embedder.model_id if embedder else "none"
    sources = sources or SourceOptions()
    generated = "|generated" if sources.include_generated else ""  # bundles are skipped or not
    return (f"{tokenizer.name}|{model}|embed{EMBED_VERSION}|analysis{analysis_tag(redact)}"
            f"|max-bytes{sources.max_file_bytes}{generated}")


def open_index(
    root: str | os.PathLike[str],
    tokenizer: Tokenizer,
    embedder: Embedder | None,
    settings: IndexSettings | None = None,
    progress: Progress | None = None,
    current: Index | None = None,
) -> Index:
    """The index of ``root``, brought up to date with the files on disk.

    A cache that cannot be used (no key, a folder of the wrong kind, a full disk) costs the
    cache, with a warning, never the index.

    ``current``: an index of ``root`` the caller keeps in memory (a resident server),
    built with the same tokenizer, embedder and settings. It is updated in place from the
    files that changed, and no snapshot is read or written: that costs a stat of the tree
    when nothing changed, where a snapshot load or write costs seconds on a large one.
    """
    settings = settings or IndexSettings()
    progress = progress or _no_progress
    settle_writes()  # a cache still being written by this process is read once complete
    t0 = time.perf_counter()
    found = scan(root, settings.sources)
    t_scan = time.perf_counter() - t0
    if current is not None:
        return _update_resident(found, current, tokenizer, embedder, settings, progress, t_scan)
    folder, key = _cache_folder(found.root, settings) if settings.use_cache else (None, None)
    if folder is None or key is None:
        index = _build(found, found.files, Index(found.root, tokenizer.name, _model(embedder)),
                       tokenizer, embedder, None, settings, progress)
        index.stats.update(scan_s=t_scan, cache="off" if not settings.use_cache else "unusable")
    elif not settings.snapshot:
        with _store(folder, key) as store:
            base = Index(found.root, tokenizer.name, _model(embedder))
            index = _build(found, found.files, base, tokenizer, embedder, store, settings, progress)
        index.stats.update(scan_s=t_scan, cache="store")
    else:
        index = _open_snapshot(found, folder, key, tokenizer, embedder, settings, progress)
        index.stats["scan_s"] = t_scan
    index.scan_skipped = found.skipped
    return index


def _cache_folder(root: str, settings: IndexSettings) -> tuple[Path | None, bytes | None]:
    """The cache folder and the key that signs it, or (None, None) with a warning."""
    try:
        key = cache_key()
        folder = cache_dir_for(root, settings.cache_dir, key)
        prepare_folder(folder, root, key)
        return folder, key
    except CacheError as exc:
        log.warning("%s; continuing without a cache", exc)
        return None, None


@contextmanager
def _store(folder: Path, key: bytes) -> Iterator[Store]:
    store = Store(folder / "store.sqlite", key)
    try:
        yield store
    finally:
        store.close()


def _open_snapshot(found: Scan, folder: Path, key: bytes, tokenizer: Tokenizer,
                   embedder: Embedder | None, settings: IndexSettings,
                   progress: Progress) -> Index:
    """The index from this root's snapshot, updated with what changed and written back."""
    variant = _variant(tokenizer, embedder, settings.redact, settings.sources)
    snap = snapshot_path(folder, found.root, variant)
    expect = {"variant": variant, "root": found.root}
    seen = _file_id(snap)
    old = read_snapshot(snap, expect, key)
    plan = _plan(found, old)
    if old is not None and plan.unchanged:
        old.stats = {"files_reindexed": 0, "cache": "warm"}
        return old
    from filelock import FileLock, Timeout

    # not thread-local: with write_behind, the thread that finishes the writes releases it
    lock = FileLock(str(folder / "lock"), thread_local=False)
    try:
        lock.acquire(timeout=600)
    except Timeout as exc:
        raise CacheError(f"cache {folder} stayed locked for 10 minutes", str(folder)) from exc
    except OSError as exc:  # a lock of the wrong kind, a read-only folder
        log.warning("cache lock %s unusable (%s); continuing without the cache",
                    folder / "lock", exc.strerror or exc)
        index = _build(found, found.files, Index(found.root, tokenizer.name, _model(embedder)),
                       tokenizer, embedder, None, settings, progress)
        index.stats["cache"] = "unusable"
        return index
    puts = ExitStack()  # the store's writes, still running when the index is built
    store: Store | None = None
    try:
        # Another process may have finished the same work while we waited.
        newer = read_snapshot(snap, expect, key) if _file_id(snap) != seen else None
        if newer is not None:
            old, plan = newer, _plan(found, newer)
            if plan.unchanged:
                lock.release()
                newer.stats = {"files_reindexed": 0, "cache": "warm"}
                return newer
        replaced = [(p, d) for p, d, k in zip(old.paths, old.digests, plan.keep, strict=True)
                    if not k] if old is not None else []
        store = Store(folder / "store.sqlite", key)
        # The old index is updated in place: its unchanged rows are never copied twice.
        base = old if old is not None else Index(found.root, tokenizer.name, _model(embedder))
        base.skipped = {p: v for p, v in (old.skipped.items() if old else ())
                        if p in plan.still_skipped}
        index = _build(found, plan.changed, base, tokenizer, embedder, store, settings,
                       progress, plan.keep, puts)
        index.stats["cache"] = "cold" if old is None else "updated"
        write = snapshot_writer(snap, index, expect, key)  # laid out now: the index may change
        now = dict(zip(index.paths, index.digests, strict=True))
        prefixes = _prefixes(tokenizer.name, _model(embedder), analysis_tag(settings.redact))
        finish = partial(_finish, snap, write, puts, store, lock, replaced, now, prefixes)
    except BaseException:
        _release(puts, store, lock)
        raise
    if settings.write_behind:
        _pending.append(_Pending(index, finish))
    else:
        index.stats.update(finish())
    return index


def _finish(snap: Path, write: Callable[[], None], puts: ExitStack, store: Store,
            lock: Any, replaced: Sequence[tuple[str, str]], now: dict[str, str],
            prefixes: dict[str, str]) -> dict[str, Any]:
    """Write the snapshot, wait for the store's writes, prune both, close the store and
    release the lock; the stats of all that."""
    stats: dict[str, Any] = {}
    try:
        t = time.perf_counter()
        try:
            remove_leftovers(snap.parent)
            write()
        except OSError as exc:  # a full disk, a folder of the wrong kind
            log.warning("cannot write cache %s (%s); continuing without it", snap,
                        exc.strerror or exc)
        stats["write_s"] = time.perf_counter() - t
        puts.close()  # raises what the store's writes raised
        stats["store_pruned"] = _prune_store(store, replaced, now, prefixes)
        if store.rejected:
            stats["cache_rejected"] = store.rejected
        _prune_snapshots(snap)
    finally:
        _release(puts, store, lock)
    return stats


def _release(puts: ExitStack, store: Store | None, lock: Any) -> None:
    """Wait for the store's writes, close the store, release the cache lock: how a build
    ends, finished or failed."""
    try:
        puts.close()
    finally:
        if store is not None:
            store.close()
        lock.release()


class _Pending:
    """Cache writes finishing on a thread after ``open_index`` returned (write_behind)."""

    def __init__(self, index: Index, finish: Callable[[], dict[str, Any]]) -> None:
        import threading

        self.index = index
        self.stats: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._finish = finish
        # not a daemon: the interpreter waits for it before exiting
        self.thread = threading.Thread(target=self._run, name="contextpack-cache-writes")
        self.thread.start()

    def _run(self) -> None:
        try:
            self.stats = self._finish()
        except BaseException as exc:  # raised by settle_writes() in the caller's thread
            self.error = exc


_pending: list[_Pending] = []


def settle_writes() -> None:
    """Wait for the cache writes ``open_index`` left running (``write_behind``); their
    stats join their index's; the first error they met is raised here."""
    error: BaseException | None = None
    while _pending:
        p = _pending.pop(0)
        p.thread.join()
        p.index.stats.update(p.stats)
        error = error or p.error
    if error is not None:
        raise error


def _update_resident(found: Scan, index: Index, tokenizer: Tokenizer,
                     embedder: Embedder | None, settings: IndexSettings, progress: Progress,
                     t_scan: float) -> Index:
    """``index`` brought up to date in place; the store (when caching) serves and keeps
    the analyses of changed files, so a restart finds them."""
    plan = _plan(found, index)
    index.scan_skipped = found.skipped
    if plan.unchanged:
        index.stats = {"scan_s": t_scan, "files_reindexed": 0, "cache": "resident"}
        return index
    index.skipped = {p: v for p, v in index.skipped.items() if p in plan.still_skipped}
    index.stats = {}
    folder, key = _cache_folder(found.root, settings) if settings.use_cache else (None, None)
    if folder is None or key is None:
        _build(found, plan.changed, index, tokenizer, embedder, None, settings, progress,
               plan.keep)
    else:
        with _store(folder, key) as store:
            _build(found, plan.changed, index, tokenizer, embedder, store, settings, progress,
                   plan.keep)
    # what ranking derived from the old rows and kept on the index ("_" keys) is stale
    for name in [k for k in index.__dict__ if k.startswith("_")]:
        del index.__dict__[name]
    index.stats.update(scan_s=t_scan, cache="resident-updated")
    return index


def _prefixes(tokenizer: str, model: str, tag: str) -> dict[str, str]:
    """How the store's keys start, per table, for one variant: ``PREFIX path \\0 digest``."""
    # counts "c2": a file's tokens are its chunks' (c1 counted the whole file too)
    return {"analysis": f"a{tag}\0", "counts": f"{tokenizer}\0c2\0a{tag}\0",
            "vectors": f"{model}\0e{EMBED_VERSION}\0a{tag}\0"}


def _prune_store(store: Store, replaced: Sequence[tuple[str, str]], now: dict[str, str],
                 prefixes: dict[str, str]) -> int:
    """Forget the stored versions of each replaced file but two: the one on disk now
    (``now``: path -> digest) and the one it replaced. Without this the store grows with
    every edit."""
    removed = 0
    for path, digest in replaced:
        keep = {digest, now.get(path)}
        for table, prefix in prefixes.items():
            head = f"{prefix}{path}\0"
            removed += store.prune(table, head, {head + d for d in keep if d})
    return removed


#: A snapshot no contextpack of this version can read, untouched this long, is deleted.
STALE_SNAPSHOT_S = 7 * 24 * 3600


def _prune_snapshots(snap: Path) -> None:
    """Delete the sibling snapshots of one root that this version cannot read (another
    schema, layout or analysis version) and that nobody has rewritten for a week: left by
    an upgrade. An older contextpack still in use (a pre-commit hook's own) rewrites its
    snapshot when files change, and at worst rebuilds it from the store."""
    tags = {analysis_tag(True), analysis_tag(False)}
    now = time.time()
    for other in snap.parent.glob("snapshot-*.bin"):
        if other == snap:
            continue
        header = read_header(other) or {}
        variant = str(header.get("variant", ""))
        readable = header.get("format") == FORMAT and \
            variant.rsplit("|analysis", 1)[-1].split("|", 1)[0] in tags
        try:
            if not readable and now - other.stat().st_mtime > STALE_SNAPSHOT_S:
                other.unlink()
                other.with_suffix(".seal").unlink(missing_ok=True)
        except OSError:
            pass


def _file_id(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of a file from the next (snapshots are replaced, not edited)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _model(embedder: Embedder | None) -> str:
    return embedder.model_id if embedder else "none"


@dataclass
class _Plan:
    keep: list[bool]
    changed: list[FileStat]
    removed: int
    still_skipped: set[str]
    new_skips: bool

    @property
    def unchanged(self) -> bool:
        return not self.changed and not self.removed and not self.new_skips


def _plan(found: Scan, old: Index | None) -> _Plan:
    """Which files of the old index still hold (same stamp: size, mtime, ctime, inode),
    and which must be (re)read."""
    if old is None:
        return _Plan([], list(found.files), 0, set(), True)
    current = {f.path: f for f in found.files}
    keep = []
    for p, stamp in zip(old.paths, old.stamps, strict=True):
        f = current.get(p)
        keep.append(f is not None and f.stamp == tuple(stamp))
    kept = {p for p, k in zip(old.paths, keep, strict=True) if k}
    still_skipped = set()
    changed = []
    for f in found.files:
        if f.path in kept:
            continue
        prior = old.skipped.get(f.path)
        if prior is not None and tuple(prior[0]) == f.stamp:
            still_skipped.add(f.path)
            continue
        changed.append(f)
    removed = sum(1 for k in keep if not k)
    gone_skips = any(p not in current for p in old.skipped)
    return _Plan(keep, changed, removed, still_skipped, gone_skips)


def _build(
    found: Scan,
    todo: Sequence[FileStat],
    base: Index,
    tokenizer: Tokenizer,
    embedder: Embedder | None,
    store: Store | None,
    settings: IndexSettings,
    progress: Progress,
    keep: Sequence[bool] | None = None,
    puts: ExitStack | None = None,
) -> Index:
    """Read, analyze, count and embed ``todo``; append them to ``base``; drop the files
    of ``base`` not marked in ``keep``; finalize. The store's writes run on a thread,
    joined before this returns, or when ``puts`` is closed if it is given."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    sources: list[SourceFile] = []
    stats_of: dict[str, FileStat] = {}
    for i, fs in enumerate(todo):
        got = read_source(fs, settings.sources)
        if isinstance(got, Skipped):
            base.skipped[fs.path] = (fs.stamp, got.reason, got.kind)
        else:
            sources.append(got)
            stats_of[got.path] = fs
        if i % 500 == 0:
            progress("reading", i, len(todo))
    timings["read_s"] = time.perf_counter() - t
    index = _add_sources(base, sources, [stats_of.get(s.path) for s in sources], tokenizer,
                         embedder, store, settings, progress, timings, keep, puts)
    index.stats.update(timings, files_reindexed=len(sources))
    return index


def _add_sources(
    base: Index,
    sources: Sequence[SourceFile],
    fstats: Sequence[FileStat | None],
    tokenizer: Tokenizer,
    embedder: Embedder | None,
    store: Store | None,
    settings: IndexSettings,
    progress: Progress,
    timings: dict[str, float],
    keep: Sequence[bool] | None = None,
    puts: ExitStack | None = None,
) -> Index:
    fstats, analyses, counts, vectors, put = _rows(
        base, sources, fstats, tokenizer, embedder, store, settings, progress, timings)
    t = time.perf_counter()
    # The store's writes (hashing and sqlite, which release the GIL) overlap the assembly.
    with ExitStack() as here:
        (puts or here).enter_context(_in_background(put))
        base.append(analyses, fstats, counts, vectors)
        base.finalize(keep)
    timings["assemble_s"] = time.perf_counter() - t
    return base


@contextmanager
def _in_background(work: Callable[[], None] | None) -> Iterator[None]:
    """Run ``work`` on a thread while the block runs; its error, if any, is raised after."""
    if work is None:
        yield
        return
    import threading

    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised in the caller's thread below
            failed.append(exc)

    thread = threading.Thread(target=run, name="contextpack-store-writes")
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _rows(
    base: Index,
    sources: Sequence[SourceFile],
    fstats: Sequence[FileStat | None],
    tokenizer: Tokenizer,
    embedder: Embedder | None,
    store: Store | None,
    settings: IndexSettings,
    progress: Progress,
    timings: dict[str, Any],
) -> tuple[list[FileStat | None], list[FileAnalysis], list[Counts], list[np.ndarray] | None,
           Callable[[], None] | None]:
    """Each source's rows (analysis, token counts, vectors): from the store when it has
    them, else mapped on the engine (this machine's worker processes by default); and
    the writes that store the new ones (None without a store). Files that fail there are
    skipped with the reason."""
    t = time.perf_counter()
    tag = analysis_tag(settings.redact)
    pre = _prefixes(tokenizer.name, _model(embedder), tag)
    have = _stored(sources, store, pre, embedder is not None)
    todo = [s for s in sources if pre["analysis"] + _key(s) not in have["analysis"]]
    engine = settings.engine or ProcessEngine(settings.jobs)
    # the analyses' stored form is made on the workers, when there is a store to keep it
    mapped = dict(zip((_key(s) for s in todo), engine.map_files(
        todo, tokenizer, embedder, settings.redact, progress, encode=store is not None),
        strict=True))
    timings.update(map_s=time.perf_counter() - t, files_mapped=len(todo))
    t = time.perf_counter()
    fresh = {k: r for k, r in mapped.items() if not r.error}
    if settings.redact:
        fresh = _scrubbed(fresh, have["analysis"].values(), base.redactions)
    rows: dict[str, FileRows] = {}
    for s in sources:
        k = _key(s)
        got = fresh.get(k)
        if got is None and k not in mapped:
            got = FileRows(have["analysis"][pre["analysis"] + k],
                           have["counts"].get(pre["counts"] + k),
                           have["vectors"].get(pre["vectors"] + k))
        if got is not None:
            rows[k] = got
    new_counts, new_vectors = _fill_missing(rows, tokenizer, embedder, progress)
    put = partial(_put_rows, store, pre, fresh, rows, [*fresh, *new_counts],
                  [*fresh, *new_vectors] if embedder else []) if store else None
    out: tuple[list[Any], ...] = ([], [], [], [])
    for s, fs in zip(sources, fstats, strict=True):
        r = mapped.get(_key(s))
        if r is not None and r.error:
            base.skipped[s.path] = ((fs.stamp if fs else (0, 0, 0, 0)), r.error, "failed")
            continue
        row = rows[_key(s)]
        assert row.analysis is not None
        vec = np.asarray(row.vectors).reshape(len(row.analysis.chunks), embedder.dimension) \
            if embedder else None
        for column, value in zip(out, (fs, row.analysis, row.counts, vec), strict=True):
            column.append(value)
    timings["rows_s"] = time.perf_counter() - t
    return out[0], out[1], out[2], (out[3] if embedder else None), put


def _put_rows(store: Store, pre: dict[str, str], fresh: dict[str, FileRows],
              rows: dict[str, FileRows], counted: Sequence[str],
              embedded: Sequence[str]) -> None:
    """Store the mapped analyses (as the workers encoded them) and every count and vector
    made in this build."""
    store.put_encoded("analysis", ((pre["analysis"] + k, r.encoded if r.encoded is not None
                                    else encode_analysis(r.analysis))
                                   for k, r in fresh.items()))
    store.put_many("counts", ((pre["counts"] + k, rows[k].counts)
                              for k in dict.fromkeys(counted)))
    store.put_many("vectors", ((pre["vectors"] + k, rows[k].vectors)
                               for k in dict.fromkeys(embedded)))


def _stored(sources: Sequence[SourceFile], store: Store | None, pre: dict[str, str],
            vectors: bool) -> dict[str, dict[str, Any]]:
    """What the store holds for these sources, per table; an analysis that shows text
    its file does not hold is left out (and so recomputed)."""
    tables = ("analysis", "counts", "vectors") if vectors else ("analysis", "counts")
    have: dict[str, dict[str, Any]] = {
        t: store.get_many(t, (pre[t] + _key(s) for s in sources)) if store else {}
        for t in tables}
    have.setdefault("vectors", {})
    analyses = have["analysis"]
    untrue = [s.path for s in sources if pre["analysis"] + _key(s) in analyses
              and not true_to_source(analyses[pre["analysis"] + _key(s)], s)]
    if untrue:
        log.warning("cache store: %d analyses show text their file does not hold (first: %s);"
                    " recomputing them", len(untrue), untrue[0])
        lying = set(untrue)
        for s in sources:
            if s.path in lying:
                analyses.pop(pre["analysis"] + _key(s), None)
    return have


def _scrubbed(fresh: dict[str, FileRows], cached: Iterable[FileAnalysis],
              known: Sequence[Any]) -> dict[str, FileRows]:
    """A secret found in one file leaves every other file too, before anything is
    stored. A file it changes loses its counts and vectors (they read the secret)."""
    scrub = Scrubber.of([r.analysis.redactions for r in fresh.values() if r.analysis]
                        + [a.redactions for a in cached] + list(known))
    if scrub is None:
        return fresh
    out = {}
    for k, r in fresh.items():
        assert r.analysis is not None
        if r.runs is not None and not scrub.may_touch(r.runs):
            out[k] = r
            continue
        a = scrub_analysis(r.analysis, scrub)
        out[k] = r if a is r.analysis else FileRows(a, None, None)
    return out


def _fill_missing(rows: dict[str, FileRows], tokenizer: Tokenizer, embedder: Embedder | None,
                  progress: Progress) -> tuple[list[str], list[str]]:
    """Count and embed, in place, the rows that lack counts or vectors (an analysis from
    the store under another tokenizer or model, or one the scrubber changed); the keys
    of the rows given counts and of those given vectors."""
    no_counts = [k for k, r in rows.items() if r.counts is None]
    no_vectors = [k for k, r in rows.items() if r.vectors is None] if embedder else []
    if no_counts:
        progress("counting tokens", 0, len(no_counts))
        counted = count_files([_analysis(rows[k]) for k in no_counts], tokenizer)
        for k, c in zip(no_counts, counted, strict=True):
            rows[k] = dataclasses.replace(rows[k], counts=c)
    if no_vectors:
        assert embedder is not None
        progress("embedding", 0, len(no_vectors))
        embedded = embed_files([_analysis(rows[k]) for k in no_vectors], embedder)
        for k, v in zip(no_vectors, embedded, strict=True):
            rows[k] = dataclasses.replace(rows[k], vectors=v)
    return no_counts, no_vectors


def _analysis(r: FileRows) -> FileAnalysis:
    assert r.analysis is not None, "a row without an analysis is a failed file's"
    return r.analysis


def _key(a: FileAnalysis | SourceFile) -> str:
    return f"{a.path}\0{a.digest}"


_MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")
_WORD = re.compile(r"\w+")


def true_to_source(a: FileAnalysis, src: SourceFile) -> bool:
    """Whether an analysis read back from the store shows only what ``src`` holds: each
    chunk's text is exactly its lines of the file (a redaction marker standing for any
    text on its line), and the derived views and names use only the file's words."""
    if a.path != src.path or a.digest != src.digest:
        return False
    lines = src.text.split("\n")
    words: set[str] | None = None
    for c in a.chunks:
        if not 1 <= c.start_line <= c.end_line <= len(lines):
            return False
        if not _lines_true(c.text.split("\n"), lines[c.start_line - 1 : c.end_line]):
            return False
        derived = "\n".join((c.skeleton, c.context, c.symbol, c.parent, *c.defs, *c.refs))
        if words is None:
            words = set(_WORD.findall(src.text))
        if not set(_WORD.findall(_MARKER.sub(" ", derived))) <= words:
            return False
    return True


def _lines_true(got: list[str], want: list[str]) -> bool:
    """Each line is the file's, or the file's with secrets replaced by markers; below a
    marker, a private key's further lines may have lost their base64 runs."""
    if len(got) != len(want):
        return False
    in_key = False
    for g, w in zip(got, want, strict=True):
        if g == w:
            in_key = in_key and not w.strip()
        elif _redacted_from(g, w):
            in_key = True
        elif not (in_key and _key_runs_removed(g, w)):
            return False
    return True


_B64 = "[A-Za-z0-9+/=]*"


def _key_runs_removed(line: str, original: str) -> bool:
    """``line`` is ``original`` with runs of base64 characters taken out (a key body)."""
    pattern = _B64 + _B64.join(re.escape(ch) for ch in line) + _B64
    return re.fullmatch(pattern, original) is not None


def _redacted_from(line: str, original: str) -> bool:
    """``line`` is ``original`` with secrets replaced by markers."""
    if "[REDACTED:" not in line:
        return False
    pattern = ".*?".join(re.escape(part) for part in _MARKER.split(line))
    return re.fullmatch(pattern, original, re.DOTALL) is not None


def index_sources(
    sources: Sequence[SourceFile],
    tokenizer: Tokenizer,
    embedder: Embedder | None,
    root: str = "",
    progress: Progress | None = None,
    redact: bool = True,
) -> Index:
    """An in-memory index of sources that are not files on disk (documents)."""
    base = Index(root, tokenizer.name, _model(embedder))
    timings: dict[str, float] = {}
    index = _add_sources(base, sources, [None] * len(sources), tokenizer, embedder, None,
                         IndexSettings(use_cache=False, redact=redact), progress or _no_progress,
                         timings)
    index.stats.update(timings, files_reindexed=len(sources))
    return index


def skipped_list(index: Index) -> list[Skipped]:
    """Every file left out, from the walk and from reading, sorted by path."""
    # the stamp's first field is the size in bytes (sources.FileStat.stamp)
    found = [Skipped(p, why, int(stamp[0]) if stamp else None, kind=kind)
             for p, (stamp, why, kind) in index.skipped.items()]
    return sorted(found + list(index.scan_skipped), key=lambda s: s.path)


def iter_cache_files(folder: Path) -> Iterable[Path]:
    return sorted(folder.rglob("*")) if folder.exists() else []

