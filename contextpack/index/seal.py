"""Which cache files this installation wrote: a per-user key and the MACs made with it.

A cache folder can come from anywhere: committed into the repository being packed, copied
from another user or machine, or edited by hand. Every snapshot and every store row carries
an HMAC-SHA256 made with a random key that lives outside any repository (the user config
folder, mode 0600). Anything whose MAC does not verify was not written here and is never
parsed; it is rebuilt. Keys are never derived from anything a repository holds.

The key file is created once, atomically (``O_EXCL``), and read without following links.
Point ``$CONTEXTPACK_KEY_FILE`` elsewhere to use another key (tests do).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..errors import CacheError

KEY_ENV = "CONTEXTPACK_KEY_FILE"
KEY_BYTES = 32
MAC_BYTES = 32  # snapshots: the full HMAC-SHA256
ROW_MAC_BYTES = 16  # store rows: 128 bits, plenty for a MAC nobody can query


def key_path() -> Path:
    """Where this user's cache key lives."""
    explicit = os.environ.get(KEY_ENV)
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_config_dir("contextpack")) / "cache.key"


def cache_key() -> bytes:
    """This user's cache key, made on first use. Raises CacheError if it can be neither
    read nor made (the caller then works without a cache)."""
    path = key_path()
    key = _read_key(path)
    if key is None:
        key = _make_key(path)
    return key


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheError(f"cannot read the cache key {str(path)!r}: {exc.strerror}",
                         str(path)) from exc
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CacheError(f"the cache key {str(path)!r} is not a regular file", str(path))
        raw = os.read(fd, 2 * KEY_BYTES + 2).strip()
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise CacheError(f"the cache key {str(path)!r} is damaged; delete it to make a new one",
                         str(path))
    return key


def _make_key(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        got = _read_key(path)
        if got is None:
            raise CacheError(f"the cache key {str(path)!r} vanished", str(path)) from None
        return got
    except OSError as exc:
        raise CacheError(f"cannot create the cache key {str(path)!r}: {exc.strerror}",
                         str(path)) from exc
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def snapshot_mac(key: bytes) -> hmac.HMAC:
    """A running MAC for one snapshot file (fed as it is written or read)."""
    return hmac.new(key, b"contextpack snapshot\0", hashlib.sha256)


def row_mac(key: bytes, table: str, row_key: str, payload: bytes | memoryview) -> bytes:
    """The MAC of one store row: bound to its table and key, so a row cannot be moved."""
    head = f"contextpack row\0{table}\0{row_key}\0".encode("utf-8", "surrogatepass")
    mac = hmac.new(key, head, hashlib.sha256)
    mac.update(payload)
    return mac.digest()[:ROW_MAC_BYTES]


def owner_mark(key: bytes) -> str:
    """What a cache folder made by this installation holds in its ``owner`` file."""
    return hmac.new(key, b"contextpack cache folder", hashlib.sha256).hexdigest()
