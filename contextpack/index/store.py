"""The on-disk cache: where it lives, a content-addressed store, checksummed snapshots.

Layout of a cache folder::

    .contextpack/
      .gitignore           "*": the cache never shows up in the user's git status
      store.sqlite         per-file analyses, token counts and vectors, keyed by content
      roots/<key>/         one folder per packed root (only when the cache is shared)
      snapshot-<key>.bin   the assembled index of one root, for one tokenizer and model
      lock                 serialises writers (a pre-commit hook and an editor at once)

Snapshots are written to a temporary file and renamed, so a reader sees the old file or
the new one, never half of one. Each starts with a header holding the schema version and
a checksum of the payload; a snapshot that fails either check is rebuilt, with a warning.

The cache stays bounded: a snapshot is replaced, never added to; an update deletes from
the store the versions of each changed file but the new one and the one it replaced (so
an undo, or switching between two branches, parses nothing); and a writer, holding the
lock, removes temporary files that killed writers left behind and snapshots that no
installed version could have written for a week (index.py decides which those are).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sqlite3
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import CacheError

log = logging.getLogger("contextpack")

SCHEMA_VERSION = 2
MAGIC = b"CONTEXTPACK-SNAPSHOT\n"
CACHE_ENV = "CONTEXTPACK_CACHE_DIR"
GITIGNORE = "# written by contextpack: its cache is not for version control\n*\n!*.md\n"


def cache_dir_for(root: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder for a root: an explicit folder or $CONTEXTPACK_CACHE_DIR (shared by
    many roots, one subfolder each), else ``ROOT/.contextpack``, else the user cache folder
    when the root is not writable."""
    shared = cache_dir or os.environ.get(CACHE_ENV)
    key = hashlib.blake2b(os.path.realpath(root).encode(), digest_size=8).hexdigest()
    if shared:
        return Path(shared)
    local = Path(root) / ".contextpack"
    if _writable(local):
        return local
    import platformdirs

    fallback = Path(platformdirs.user_cache_dir("contextpack")) / "roots" / key
    log.warning("cannot write %s; caching in %s instead", local, fallback)
    return fallback


def snapshot_path(folder: Path, root: str, variant: str) -> Path:
    """One snapshot per (root, tokenizer, embedder); roots get their own file in a shared cache."""
    root_key = hashlib.blake2b(os.path.realpath(root).encode(), digest_size=8).hexdigest()
    var_key = hashlib.blake2b(variant.encode(), digest_size=6).hexdigest()
    return folder / "roots" / root_key / f"snapshot-{var_key}.bin"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def prepare_folder(folder: Path) -> None:
    """Create the cache folder with its .gitignore."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            atomic_write(ignore, GITIGNORE.encode())
    except OSError as exc:
        raise CacheError(f"cannot create cache folder {str(folder)!r}: {exc.strerror}",
                         str(folder)) from exc


def atomic_write(path: Path, data: bytes, *more: bytes) -> None:
    """Write ``data`` (and ``more`` after it) through a temporary file in the same
    folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            for part in more:  # written one after the other, never joined in memory
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_snapshot(path: Path, payload: Any, meta: dict[str, Any]) -> None:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    header = dict(meta, schema=SCHEMA_VERSION, length=len(body),
                  checksum=_checksum(body))
    atomic_write(path, MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n", body)


def _checksum(body: bytes | memoryview) -> str:
    # CRC-32 catches truncation and flipped bytes at memory speed; the cache is not
    # a security boundary, so a cryptographic hash would only slow every warm query.
    return f"crc32:{zlib.crc32(body):08x}"


def read_snapshot(path: Path, expect: dict[str, Any]) -> Any | None:
    """The payload, or None (with a warning) if the file is damaged, foreign or stale."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        log.warning("cache %s unreadable (%s); rebuilding it", path, exc)
        return None
    problem = _check(data, expect)
    if problem:
        log.warning("cache %s %s; rebuilding it", path, problem)
        return None
    # a view, not a slice: the payload is not copied before it is unpickled
    body = memoryview(data)[data.index(b"\n", len(MAGIC)) + 1 :]
    try:
        return pickle.loads(body)
    except Exception as exc:  # a checksum collision or a class that moved
        log.warning("cache %s cannot be loaded (%s); rebuilding it", path, exc)
        return None


def read_header(path: Path) -> dict[str, Any] | None:
    """A snapshot's header alone (None if it has none), without reading its payload."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(MAGIC))
            line = fh.readline(65536)
        if head != MAGIC:
            return None
        header = json.loads(line)
        return header if isinstance(header, dict) else None
    except (OSError, ValueError):
        return None


def remove_leftovers(folder: Path) -> int:
    """Delete the temporary files of writers that died before renaming them. Call it
    holding the cache's lock: every snapshot writer holds it while its file exists."""
    removed = 0
    for tmp in folder.glob(".*.tmp"):
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def _check(data: bytes, expect: dict[str, Any]) -> str:
    if not data.startswith(MAGIC):
        return "is not a contextpack snapshot"
    try:
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC) : end])
    except ValueError:
        return "has a damaged header"
    if header.get("schema") != SCHEMA_VERSION:
        return f"has schema version {header.get('schema')} (this contextpack writes {SCHEMA_VERSION})"
    for key, value in expect.items():
        if header.get(key) != value:
            return f"was built for {key}={header.get(key)!r}, not {value!r}"
    body = memoryview(data)[end + 1 :]
    if len(body) != header.get("length"):
        return "is truncated"
    if _checksum(body) != header.get("checksum"):
        return "fails its checksum"
    return ""


class Store:
    """A content-addressed key-value store in SQLite (per-file analyses, counts, vectors).

    A damaged database, or one written by another version (``PRAGMA user_version``), is
    started afresh: it only ever holds what can be recomputed. Each value carries a CRC-32,
    since SQLite checks its pages' structure but not their bytes, and a flipped byte in a
    pickle can load as a plausible but wrong chunk.
    """

    TABLES = ("analysis", "counts", "vectors")
    VERSION = 1  # bump when the row format changes

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            problem = conn.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise sqlite3.DatabaseError(problem)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and not any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
                                        for t in self.TABLES):
                conn.execute(f"PRAGMA user_version={self.VERSION}")
            elif version != self.VERSION:
                log.warning("cache store %s has format %d (this contextpack writes %d); "
                            "starting it afresh", self.path, version, self.VERSION)
                conn.close()
                self._discard()
                return self._connect(new=True)
            return conn
        except sqlite3.DatabaseError as exc:
            log.warning("cache store %s is damaged (%s); starting it afresh", self.path, exc)
            self._discard()
            return self._connect(new=True)

    def _connect(self, new: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for table in self.TABLES:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, data BLOB)")
        if new:
            conn.execute(f"PRAGMA user_version={self.VERSION}")
        return conn

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.unlink()

    def get_many(self, table: str, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(keys)
        out: dict[str, Any] = {}
        damaged = 0
        try:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT key, data FROM {table} WHERE key IN ({marks})", part
                ).fetchall()
                for key, data in rows:
                    try:
                        if _row_checksum(data[4:]) != data[:4]:
                            raise ValueError("checksum")
                        out[key] = pickle.loads(data[4:])
                    except Exception:
                        damaged += 1  # recomputed by the caller, and overwritten
        except sqlite3.DatabaseError as exc:
            log.warning("cache store %s unreadable (%s); starting it afresh", self.path, exc)
            self._reset()
        if damaged:
            log.warning("cache store %s: %d damaged entries; recomputing them", self.path, damaged)
        return out

    def put_many(self, table: str, items: Iterable[tuple[str, Any]]) -> None:
        rows = []
        for k, v in items:
            body = pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)
            rows.append((k, _row_checksum(body) + body))
        if not rows:
            return
        try:
            self._conn.execute("BEGIN")
            self._conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", rows)
            self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            log.warning("cannot write cache store %s (%s); continuing without it", self.path, exc)
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass

    def prune(self, table: str, prefix: str, keep: Iterable[str]) -> int:
        """Delete the rows whose key starts with ``prefix``, except the keys in ``keep``."""
        keep = set(keep)
        try:
            # keys starting with prefix sort between it and prefix with its last char bumped
            end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            keys = [k for (k,) in self._conn.execute(
                f"SELECT key FROM {table} WHERE key >= ? AND key < ?", (prefix, end))]
            doomed = [(k,) for k in keys if k not in keep]
            if doomed:
                self._conn.execute("BEGIN")
                self._conn.executemany(f"DELETE FROM {table} WHERE key = ?", doomed)
                self._conn.execute("COMMIT")
            return len(doomed)
        except sqlite3.DatabaseError as exc:
            log.warning("cannot prune cache store %s (%s)", self.path, exc)
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            return 0

    def _reset(self) -> None:
        try:
            self._conn.close()
        except sqlite3.DatabaseError:
            pass
        self._discard()
        self._conn = self._connect(new=True)

    def close(self) -> None:
        self._conn.close()


def _row_checksum(body: bytes) -> bytes:
    return zlib.crc32(body).to_bytes(4, "big")
