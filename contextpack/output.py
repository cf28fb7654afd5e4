"""Writing results to files: ``-o PATH`` and snapshots, in one place.

A regular file (or a new one) is replaced through a temporary file and a rename, so a
reader sees the old text or the new. Anything else is written through and never replaced:
a symlink's target (a regular target is itself replaced atomically, the link kept), a
device such as ``/dev/null``, a FIFO. Snapshots are also confined to the repository:
inside the root, never under ``.git/``, never through a link that leads out.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ConfigError
from .index.store import atomic_write


def write_output(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path``; a ConfigError (one line) when it cannot be."""
    name = os.fspath(path)
    if "\0" in name:
        raise ConfigError(f"output path {name!r} holds a NUL character; name a file", name)
    try:
        st = os.stat(name)  # through links: what would be written is their target
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _cannot(name, exc) from exc
    try:
        if st is None or stat.S_ISREG(st.st_mode):
            # a link to a regular file: replace the target, keep the link
            atomic_write(Path(os.path.realpath(name)), data)
        elif stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"output {name!r} is a folder; name a file in it", name)
        else:
            _write_through(name, data)
    except OSError as exc:
        raise _cannot(name, exc) from exc


def _write_through(name: str, data: bytes) -> None:
    """A device or FIFO: opened as it is (never created, never replaced)."""
    fd = os.open(name, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _cannot(name: str, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot write {name!r}: {exc.strerror or exc}; check the path and its "
                       "folder's permissions", name)


def confined(root: str, output: str) -> Path:
    """The file a snapshot ``output`` (relative to ``root``) names, once checked: inside
    the root after every link is resolved, and not under ``.git``."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, output))
    rel = os.path.relpath(target, real_root)
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep) \
            or os.path.isabs(rel):
        raise ConfigError(f"snapshot output {output!r} leads out of the repository "
                          f"(to {target!r}, through a symbolic link); name a file inside it",
                          output)
    if ".git" in (part.lower() for part in rel.split(os.sep)):
        raise ConfigError(f"snapshot output {output!r} is inside .git/; name a file of the "
                          "working tree, such as 'docs/CONTEXT.md'", output)
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return Path(target)  # not there yet (or unreadable: the write says why)
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise ConfigError(f"snapshot output {output!r} is not a regular file (a device or a "
                          "pipe); name a file", output)
    return Path(target)
