"""The on-disk cache: where it lives, whose it is, the content-addressed store, snapshots.

Layout of a cache folder::

    .contextpack/
      .gitignore           "*": the cache never shows up in the user's git status
      owner                marks a folder this installation made (see seal.py)
      store.sqlite         per-file analyses, token counts and vectors, keyed by content
      roots/<key>/         one snapshot folder per packed root
        snapshot-<key>.bin the assembled index of one root, for one variant (persist.py)
      lock                 serialises writers (a pre-commit hook and an editor at once)

Trust: everything read back carries a MAC made with the user's key (seal.py), so a
folder committed into a repository, copied from another user or edited by hand is never
parsed. A ``ROOT/.contextpack`` this installation did not make (no valid ``owner``, and
holding more than snapshot ``.md`` files) is not touched at all: the cache goes to the
user cache folder instead, with a warning. A folder given with ``--cache-dir`` is the
user's choice and is used, but its rows are verified all the same.

Snapshots are written to a temporary file and renamed, so a reader sees the old file or
the new one, never half of one. The cache stays bounded: a snapshot is replaced, never
added to; an update deletes from the store the versions of each changed file but the new
one and the one it replaced; a writer, holding the lock, removes temporary files that
killed writers left behind and snapshots no installed version could read for a week.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import CacheError
from . import persist
from .seal import ROW_MAC_BYTES, owner_mark, row_mac, snapshot_mac

log = logging.getLogger("contextpack")

CACHE_ENV = "CONTEXTPACK_CACHE_DIR"
GITIGNORE = "# written by contextpack: its cache is not for version control\n*\n!*.md\n"
OWNER = "owner"


def _path_key(root: str) -> str:
    return hashlib.blake2b(os.path.realpath(root).encode("utf-8", "surrogateescape"),
                           digest_size=8).hexdigest()


def cache_dir_for(root: str, cache_dir: str | os.PathLike[str] | None = None,
                  key: bytes | None = None) -> Path:
    """The cache folder for a root: an explicit folder or $CONTEXTPACK_CACHE_DIR (shared by
    many roots), else ``ROOT/.contextpack`` when it is ours (or can be made), else the user
    cache folder (a root we cannot write, or a ``.contextpack`` we did not make)."""
    shared = cache_dir or os.environ.get(CACHE_ENV)
    if shared:
        real, real_root = os.path.realpath(shared), os.path.realpath(root)
        if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
            # inside the tree it caches: in a folder the walk never enters
            return Path(shared) / ".contextpack"
        return Path(shared)
    local = Path(root) / ".contextpack"
    problem = _local_problem(local, key)
    if not problem:
        return local
    import platformdirs

    fallback = Path(platformdirs.user_cache_dir("contextpack")) / "roots" / _path_key(root)
    log.warning("%s %s; caching in %s instead", local, problem, fallback)
    return fallback


def _local_problem(local: Path, key: bytes | None) -> str:
    """Why ``ROOT/.contextpack`` cannot hold our cache ("" when it can)."""
    try:
        if local.is_symlink() or (local.exists() and not local.is_dir()):
            return "is not a folder"
        if local.exists() and key is not None and not _is_ours(local, key):
            if not _adoptable(local):
                return ("was not made by this installation (committed, copied, or left by "
                        "an older contextpack; delete it to cache there again)")
        if not _writable(local):
            return "cannot be written"
    except OSError as exc:
        return f"cannot be used ({exc.strerror})"
    return ""


def _is_ours(folder: Path, key: bytes) -> bool:
    got = _read_small(folder / OWNER, 256)
    return got is not None and got.strip() == owner_mark(key).encode()


def _adoptable(folder: Path) -> bool:
    """A ``.contextpack`` holding only snapshot outputs (``*.md``, committed on purpose)
    and our own ``.gitignore``: nothing in it was ever read as cache, so we may use it."""
    for entry in os.scandir(folder):
        if entry.name == ".gitignore":
            if _read_small(Path(entry.path), 4096) != GITIGNORE.encode():
                return False
        elif not (entry.name.endswith(".md") and entry.is_file(follow_symlinks=False)):
            return False
    return True


def _read_small(path: Path, limit: int) -> bytes | None:
    """A small regular file's bytes, without following a link; None if it is not one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def snapshot_path(folder: Path, root: str, variant: str) -> Path:
    """One snapshot per (root, variant); roots get their own folder in a shared cache."""
    var_key = hashlib.blake2b(variant.encode(), digest_size=6).hexdigest()
    return folder / "roots" / _path_key(root) / f"snapshot-{var_key}.bin"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def prepare_folder(folder: Path, root: str, key: bytes) -> None:
    """Create the cache folder; mark it ours and keep it out of git, unless it is the
    root or a folder above it (a ``.gitignore`` of ``*`` there would hide the sources)."""
    try:
        fresh = not folder.exists() or not any(os.scandir(folder))
        folder.mkdir(parents=True, exist_ok=True)
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            raise NotADirectoryError(20, "not a folder")
        real_root, real = os.path.realpath(root), os.path.realpath(folder)
        holds_root = real_root == real or real_root.startswith(real.rstrip(os.sep) + os.sep)
        if holds_root:
            return
        if fresh or folder.name == ".contextpack":
            ignore = folder / ".gitignore"
            if not os.path.lexists(ignore):
                atomic_write(ignore, GITIGNORE.encode())
        if not os.path.lexists(folder / OWNER):
            atomic_write(folder / OWNER, owner_mark(key).encode() + b"\n")
    except OSError as exc:
        raise CacheError(f"cannot create cache folder {str(folder)!r}: {exc.strerror}",
                         str(folder)) from exc


def atomic_write(path: Path, data: bytes, *more: bytes | memoryview) -> None:
    """Write ``data`` (and ``more`` after it) through a temporary file in the same
    folder, then rename over the target."""
    _write_chunks(path, iter((data, *more)))


def _write_chunks(path: Path, chunks: Iterator[bytes | memoryview]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with open(fd, "wb") as fh:
            for part in chunks:  # written one after the other, never joined in memory
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def snapshot_writer(path: Path, index: Any, expect: dict[str, Any],
                    key: bytes) -> Callable[[], None]:
    """What writes ``index`` as it is now as a snapshot file (persist.py's format), MAC
    last, then its seal: the index is laid out here (no I/O), the bytes are hashed and
    written when the result is called."""
    meta, arrays = persist.dump_index(index)
    parts = list(persist.snapshot_chunks(meta, arrays, expect))

    def write() -> None:
        mac = snapshot_mac(key)

        def chunks() -> Iterator[bytes | memoryview]:
            for part in parts:
                mac.update(part)
                yield part
            yield mac.digest()

        _write_chunks(path, chunks())
        _seal(path, os.lstat(path), key)

    return write


def read_snapshot(path: Path, expect: dict[str, Any], key: bytes) -> Any | None:
    """The index in a snapshot, or None (with a one-line warning) if there is none or it
    is damaged, foreign or stale."""
    if not os.path.lexists(path):
        return None
    seal = _read_small(_seal_path(path), 256)
    fresh: list[os.stat_result] = []

    def verified(st: os.stat_result) -> bool:
        if seal is not None and seal.strip() == _seal_of(st, key).encode():
            return True
        fresh.append(st)  # its MAC is checked in full; seal it if it verifies
        return False

    try:
        index = persist.read_snapshot(path, expect, key, verified)
    except persist.Unreadable as exc:
        log.warning("cache %s %s; rebuilding it", path, exc)
        return None
    if fresh:
        try:
            _seal(path, fresh[0], key)
        except OSError:
            pass  # a read-only cache folder: the next read hashes the file again
    return index


# A seal vouches for a snapshot file as it is on disk: its inode, size, mtime and ctime
# when its MAC last verified. Any write changes the ctime, which no user-level call can
# set back, so an unchanged stamp spares hashing every byte on each warm query; a copy, an
# edit or a planted file has another stamp and is verified in full.
def _seal_path(path: Path) -> Path:
    return path.with_suffix(".seal")


def _seal_of(st: os.stat_result, key: bytes) -> str:
    stamp = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    return hmac.new(key, b"contextpack seal\0" + stamp.encode(), hashlib.sha256).hexdigest()


def _seal(path: Path, st: os.stat_result, key: bytes) -> None:
    atomic_write(_seal_path(path), _seal_of(st, key).encode() + b"\n")


def read_header(path: Path) -> dict[str, Any] | None:
    return persist.read_header(path)


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


class Store:
    """A content-addressed key-value store in SQLite (per-file analyses, counts, vectors).

    Rows are data (JSON or raw arrays, persist.py) behind a MAC bound to their table and
    key: a row this installation did not write, or one edited since, is skipped and
    recomputed, never parsed. A damaged database, one of another format (``PRAGMA
    user_version``) or one that is not a regular file is set aside: it only ever holds
    what can be recomputed. It is opened with SQLite's defensive flag, so even a hostile
    database file cannot use SQL to corrupt itself further.
    """

    TABLES = ("analysis", "counts", "vectors")
    VERSION = 2  # bump when the row format changes (1: pickled rows)

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key
        self.rejected = 0
        self._conn: sqlite3.Connection | None = self._open()

    def _open(self) -> sqlite3.Connection | None:
        try:
            if os.path.lexists(self.path) and not stat.S_ISREG(os.lstat(self.path).st_mode):
                log.warning("cache store %s is not a regular file; continuing without it",
                            self.path)
                return None
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
            try:
                self._discard()
                return self._connect(new=True)
            except (sqlite3.DatabaseError, OSError) as again:
                log.warning("cache store %s unusable (%s); continuing without it",
                            self.path, again)
                return None
        except OSError as exc:
            log.warning("cache store %s unusable (%s); continuing without it", self.path,
                        exc.strerror)
            return None

    def _connect(self, new: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                               check_same_thread=False)
        if hasattr(conn, "setconfig") and hasattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE"):
            conn.setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)
        conn.execute("PRAGMA trusted_schema=OFF")
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
            if os.path.lexists(p):
                p.unlink()

    def get_many(self, table: str, keys: Iterable[str]) -> dict[str, Any]:
        """The rows of ``keys`` that are there and verify, decoded."""
        keys = list(keys)
        out: dict[str, Any] = {}
        if self._conn is None:
            return out
        decode = persist.CODECS[table][1]
        rejected = 0
        try:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT key, data FROM {table} WHERE key IN ({marks})", part
                ).fetchall()
                for key, data in rows:
                    value = self._open_row(table, key, data, decode)
                    if value is None:
                        rejected += 1  # recomputed by the caller, and overwritten
                    else:
                        out[key] = value
        except sqlite3.DatabaseError as exc:
            log.warning("cache store %s unreadable (%s); starting it afresh", self.path, exc)
            self._reset()
        if rejected:
            self.rejected += rejected
            log.warning("cache store %s: %d entries not written by this installation or "
                        "damaged; recomputing them", self.path, rejected)
        return out

    def _open_row(self, table: str, key: Any, data: Any, decode: Any) -> Any:
        if not isinstance(key, str) or not isinstance(data, bytes) or \
                len(data) < ROW_MAC_BYTES:
            return None
        body = memoryview(data)[ROW_MAC_BYTES:]
        if not hmac.compare_digest(data[:ROW_MAC_BYTES], row_mac(self._key, table, key, body)):
            return None
        try:
            return decode(body)
        except ValueError:
            return None

    def put_many(self, table: str, items: Iterable[tuple[str, Any]]) -> None:
        """Store values, each encoded with the table's codec (``persist.CODECS``)."""
        encode = persist.CODECS[table][0]
        self.put_encoded(table, ((k, encode(v)) for k, v in items))

    def put_encoded(self, table: str, items: Iterable[tuple[str, bytes]]) -> None:
        """Store values already encoded with the table's codec (by a worker process)."""
        if self._conn is None:
            return
        rows = []
        for k, body in items:
            rows.append((k, row_mac(self._key, table, k, body) + body))
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
        if self._conn is None:
            return 0
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
            if self._conn is not None:
                self._conn.close()
            self._discard()
            self._conn = self._connect(new=True)
        except (sqlite3.DatabaseError, OSError):
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
