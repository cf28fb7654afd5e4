"""One file -> everything the index keeps about it that depends only on its content:
chunks, lexical terms, definitions and references. Runs in worker processes.

Secrets are redacted here, on the whole file before it is chunked, so that no chunk,
skeleton, context, term, token count or vector ever holds one, and a key block that spans
a chunk boundary is still seen whole. Redaction keeps every line, so chunk line numbers
still point into the file on disk."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .lexical import term_dict
from .types import Chunk, SourceFile, pickled_by_fields

# The chunkers, the secret patterns and the process pool load when a file is analysed:
# a warm query (nothing changed) never needs them, and importing them costs it 50 ms.
if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from .redact import Redaction, Scrubber

#: Bump when chunking, term extraction, redaction or what counts as a source (sources.py)
#: changes: cached analyses and snapshots are then redone.
ANALYSIS_VERSION = 20


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class FileAnalysis:
    path: str
    digest: str
    language: str
    decoded_with: str
    chunks: tuple[Chunk, ...]
    terms: tuple[dict[str, int], ...]
    note: str = ""
    redactions: tuple[Redaction, ...] = ()


def analysis_tag(redact: bool = True) -> str:
    """What shaped an analysis, for cache keys: the version and whether secrets were
    redacted (so turning redaction off or on never serves the other's text)."""
    return str(ANALYSIS_VERSION) if redact else f"{ANALYSIS_VERSION}-unredacted"


def analyze(src: SourceFile, max_chars: int | None = None, redact: bool = True) -> FileAnalysis:
    """Redact, chunk a file and extract each chunk's terms (chunks of at most
    ``max_chars``, default ``chunk.MAX_CHUNK_CHARS``). Never raises on content."""
    from .chunk import MAX_CHUNK_CHARS, chunk_source
    from .redact import redact as redact_text

    max_chars = MAX_CHUNK_CHARS if max_chars is None else max_chars
    note = ""
    found: tuple[Redaction, ...] = ()
    if redact:
        text, found = redact_text(src.text, src.path)
        if found:
            src = dataclasses.replace(src, text=text)
    try:
        chunks = chunk_source(src, max_chars)
    except RecursionError:
        from .chunk.text import window_chunks

        chunks = window_chunks(src, max_chars)
        note = "nested too deeply for the parser: split into line windows"
    if chunks and all(c.kind == "lines" for c in chunks) and src.language not in ("other",):
        note = note or "syntax tree mostly errors: split into line windows"
    terms = tuple(term_dict(f"{c.symbol}\n{c.text}") for c in chunks)
    return FileAnalysis(
        path=src.path,
        digest=src.digest,
        language=src.language,
        decoded_with=src.decoded_with,
        chunks=tuple(chunks),
        terms=terms,
        note=note,
        redactions=found,
    )


def scrub_analysis(a: FileAnalysis, scrub: Scrubber) -> FileAnalysis:
    """``a`` without the secrets other files revealed (``Scrubber``): chunk texts, views
    and terms, with a redaction for each value taken."""
    from .redact import Redaction

    chunks, terms, found = [], [], list(a.redactions)
    for c, t in zip(a.chunks, a.terms, strict=True):
        text, hits = scrub.scrub(c.text)
        if not hits and not scrub.scrub(c.skeleton)[1] and not scrub.scrub(c.context)[1]:
            chunks.append(c)
            terms.append(t)
            continue
        found.extend(Redaction(c.start_line + row, kind) for row, kind in hits)
        c = dataclasses.replace(c, text=text, skeleton=scrub.text(c.skeleton),
                                context=scrub.text(c.context))
        chunks.append(c)
        terms.append(term_dict(f"{c.symbol}\n{c.text}"))
    same = all(x is y for x, y in zip(chunks, a.chunks, strict=True))
    if same and len(found) == len(a.redactions):
        return a
    found.sort(key=lambda r: (r.line, r.kind, r.fingerprint))
    return dataclasses.replace(a, chunks=tuple(chunks), terms=tuple(terms),
                               redactions=tuple(dict.fromkeys(found)))


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """Worker processes that end with the main process, even when it is killed (-9)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_die_with_parent,
                               initargs=(os.getpid(),))


def _die_with_parent(parent: int) -> None:
    """Worker initializer. Linux: the kernel kills the worker when its parent dies
    (PR_SET_PDEATHSIG); elsewhere a thread polls for the parent's death."""
    import signal
    import threading

    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="contextpack-parent-watch", daemon=True).start()
