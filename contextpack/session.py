"""What one conversation has already been sent, so later packs do not send it again.

A coding agent asks several related questions in one session; the second pack would
repeat much of the first. A ``Session`` records each chunk sent in full (its path, lines
and a digest of its text). A pack given the session leaves those chunks out, spends their
tokens on new material, and lists them as already in context. A chunk whose text changed
since it was sent is new again: the agent holds the old version.

The MCP server keeps one session per client in memory; the CLI and the API keep one in a
small JSON file (``--session FILE``, ``session=``). The file is untrusted input: it is
read as data, checked field by field, and written through a temporary file and a rename.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .types import Item, digest

if TYPE_CHECKING:
    from .index import Index

SESSION_FORMAT = "contextpack-session"
SESSION_VERSION = 1
MAX_FILE_BYTES = 32 * 1024 * 1024  # about 300,000 chunks: far beyond any conversation
_DIGEST = re.compile(r"[0-9a-f]{32}")
_MAX_PATH = 4096

Key = tuple[str, int, int]  # path, start line, end line


class Session:
    """The chunks one conversation has been sent in full.

    ``Session()`` lives in memory; ``Session(path)`` reads ``path`` if it exists (an
    error if it is not a session file) and ``save()`` writes it back. Safe to share
    between threads.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._sent: dict[Key, str] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            self._sent = _load(self.path)

    def __len__(self) -> int:
        return len(self._sent)

    def sent(self) -> list[tuple[str, int, int]]:
        """(path, start line, end line) of each chunk sent, sorted."""
        with self._lock:
            return sorted(self._sent)

    def sent_rows(self, index: Index) -> frozenset[int]:
        """The rows of ``index`` holding a chunk this session was sent, same text."""
        with self._lock:
            by_path: dict[str, dict[tuple[int, int], str]] = {}
            for (path, start, end), text_digest in self._sent.items():
                by_path.setdefault(path, {})[(start, end)] = text_digest
        if not by_path:
            return frozenset()
        ix = index
        file_of = {p: f for f, p in enumerate(ix.paths)}
        rows: list[int] = []
        for path, spans in by_path.items():
            f = file_of.get(path)
            if f is None:
                continue
            for r in ix.chunks_of_file(f):
                want = spans.get((int(ix.starts[r]), int(ix.ends[r])))
                if want is not None and digest(ix.texts[r]) == want:
                    rows.append(r)
        return frozenset(rows)

    def record(self, items: Iterable[Item], index: Index | None = None) -> int:
        """Note the items shown in full; returns how many were new to the session. With
        the ``index`` they came from, a chunk is known by its indexed text (what
        ``sent_rows`` compares), even where the pack showed it scrubbed."""
        new = 0
        with self._lock:
            for item in items:
                if item.view != "full":
                    continue
                c = item.chunk
                key = (c.path, c.start_line, c.end_line)
                row = item.metadata.get("row")
                text = index.texts[row] if index is not None and row is not None else c.text
                text_digest = digest(text)
                if self._sent.get(key) != text_digest:
                    new += 1
                    self._sent[key] = text_digest
        return new

    def clear(self) -> None:
        """Forget everything sent: the next pack sends from scratch."""
        with self._lock:
            self._sent.clear()

    def save(self) -> None:
        """Write the session to its file, atomically (no-op for an in-memory session)."""
        if self.path is None:
            return
        from .index.store import atomic_write

        with self._lock:
            doc = {"format": SESSION_FORMAT, "version": SESSION_VERSION,
                   "sent": [[p, s, e, d] for (p, s, e), d in sorted(self._sent.items())]}
        data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        try:
            atomic_write(self.path, data + b"\n")
        except OSError as exc:
            raise ConfigError(f"cannot write session file {str(self.path)!r}: "
                              f"{exc.strerror or exc}", str(self.path)) from exc


def _load(path: Path) -> dict[Key, str]:
    """A session file's entries, checked; a file that is not one is an error, never
    overwritten."""
    where = str(path)

    def bad(why: str) -> ConfigError:
        return ConfigError(f"{where!r} is not a contextpack session file ({why}); pass a "
                           "new file name or delete it", where)

    try:
        if not path.is_file():
            raise bad("not a regular file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise bad(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read session file {where!r}: {exc.strerror or exc}",
                          where) from exc
    if not raw.strip():
        return {}  # an empty file (made by mktemp, say) is an empty session
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != SESSION_FORMAT:
        raise bad(f'no "format": "{SESSION_FORMAT}"')
    if doc.get("version") != SESSION_VERSION:
        raise bad(f"version {doc.get('version')!r}, expected {SESSION_VERSION}")
    entries = doc.get("sent")
    if not isinstance(entries, list):
        raise bad('"sent" is not a list')
    out: dict[Key, str] = {}
    for n, entry in enumerate(entries):
        if not _valid_entry(entry):
            raise bad(f"entry {n} is not [path, start line, end line, digest]")
        path_, start, end, text_digest = entry
        out[(path_, start, end)] = text_digest
    return out


def _valid_entry(entry: object) -> bool:
    if not isinstance(entry, list) or len(entry) != 4:
        return False
    path, start, end, text_digest = entry
    return (isinstance(path, str) and 0 < len(path) <= _MAX_PATH and "\0" not in path
            and type(start) is int and type(end) is int and 1 <= start <= end
            and isinstance(text_digest, str) and _DIGEST.fullmatch(text_digest) is not None)
