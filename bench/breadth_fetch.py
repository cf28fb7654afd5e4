"""Fetch and unpack the breadth benchmark's projects, as their packages ship them.

Source kinds (a project's ``source`` object):

* ``npm``: ``npm pack NAME@VERSION``, then the tarball is unpacked (root: its ``package/``);
* ``pypi``: ``pip download --no-deps --no-binary :all: NAME==VERSION`` (the sdist); with
  ``filename`` and ``sha256``, that exact file from PyPI's simple index instead (a Rust
  sdist's metadata cannot be built offline, so pip cannot download it);
* ``debian``: ``apt-get source --download-only NAME=VERSION`` with a private apt setup
  under the cache (its own deb-src list and package lists: the machine's apt configuration
  is not touched), then ``dpkg-source -x`` (Debian patches applied); quilt's ``.pc/`` folder
  (pre-patch copies of every patched file, unpacking state rather than the package) is
  removed, so a stale twin of a patched file never stands in for it;
* ``local``: a folder of this repository (``path``, relative to the repository root), used
  by the tests so no network is needed.

Everything lands under ``<cache>/src/`` once; a ``.done`` marker makes reruns free.
Standard library only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import corpus as C  # noqa: E402

DEBIAN_SOURCES = "deb-src http://deb.debian.org/debian bookworm main\n"


def source_label(src: dict) -> str:
    if src["kind"] == "local":
        return f"local:{src['path']}"
    return f"{src['kind']}:{src['package']}={src['version']}"


def _dest(src: dict, cache: Path) -> Path:
    safe = f"{src['package']}-{src['version']}".replace("/", "_").replace("@", "")
    return cache / "src" / src["kind"] / safe


def _run(cmd: list[str], cwd: Path, what: str, timeout: int = 900) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        tail = " | ".join((r.stderr or r.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"{what}: exit {r.returncode}: {tail[:400]}")


def _unpack_single(archive: Path, dest: Path) -> Path:
    """Unpack into dest/unpacked and return its one top folder."""
    out = dest / "unpacked"
    C._safe_extract(archive, out)
    tops = [p for p in out.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise RuntimeError(f"{archive.name}: expected one top folder, got {len(tops)}")
    return tops[0]


def _fetch_npm(src: dict, tmp: Path) -> Path:
    dl = tmp / "download"
    dl.mkdir()
    _run(["npm", "pack", f"{src['package']}@{src['version']}", "--silent"], dl, "npm pack")
    tgz = sorted(dl.glob("*.tgz"))
    if len(tgz) != 1:
        raise RuntimeError(f"npm pack {src['package']}: expected one .tgz, got {len(tgz)}")
    return _unpack_single(tgz[0], tmp)


def _fetch_pypi(src: dict, tmp: Path) -> Path:
    dl = tmp / "download"
    dl.mkdir()
    if src.get("filename"):
        # pip download builds an sdist's metadata, which a Rust (maturin) sdist cannot do
        # offline: take the exact file from the simple index and check its sha256 instead.
        C._fetch_from_simple(src["package"], src["filename"], src["sha256"], dl / src["filename"])
        return _unpack_single(dl / src["filename"], tmp)
    _run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "-q", "-d", str(dl), f"{src['package']}=={src['version']}"],
        dl,
        "pip download",
    )
    arcs = [p for p in dl.iterdir() if p.name.endswith((".tar.gz", ".zip", ".tgz"))]
    if len(arcs) != 1:
        raise RuntimeError(f"pip download {src['package']}: expected one sdist, got {arcs}")
    return _unpack_single(arcs[0], tmp)


def apt_options(cache: Path) -> list[str]:
    """apt-get options for a private deb-src setup under the cache (no root config)."""
    base = cache / "apt"
    (base / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (base / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    lst = base / "sources.list"
    if not lst.exists() or lst.read_text() != DEBIAN_SOURCES:
        lst.write_text(DEBIAN_SOURCES)
    return [
        "-o", f"Dir::Etc::SourceList={lst}",
        "-o", "Dir::Etc::SourceParts=/nonexistent",
        "-o", f"Dir::State::Lists={base / 'lists'}",
        "-o", f"Dir::Cache={base}",
        "-o", "Debug::NoLocking=1",
        "-o", "APT::Sandbox::User=root",
    ]


def _fetch_debian(src: dict, tmp: Path, cache: Path) -> Path:
    opts = apt_options(cache)
    if not any((cache / "apt" / "lists").glob("*Sources*")):
        _run(["apt-get", *opts, "update"], tmp, "apt-get update")
    dl = tmp / "download"
    dl.mkdir()
    _run(["apt-get", *opts, "source", "--download-only", f"{src['package']}={src['version']}"],
         dl, "apt-get source")
    dsc = sorted(dl.glob("*.dsc"))
    if len(dsc) != 1:
        raise RuntimeError(f"apt-get source {src['package']}: expected one .dsc, got {len(dsc)}")
    out = tmp / "unpacked" / f"{src['package']}-{src['version']}"
    out.parent.mkdir()
    _run(["dpkg-source", "--no-check", "-x", str(dsc[0]), str(out)], dl, "dpkg-source -x")
    return out


def fetch(project: dict, cache: Path) -> Path:
    """The packed root of a project (source unpacked, then ``subdir``), fetched once."""
    src = project["source"]
    if src["kind"] == "local":
        top = (REPO / src["path"]).resolve()
        if not top.is_dir():
            raise RuntimeError(f"{project['name']}: local source {src['path']} is not a folder")
    else:
        dest = _dest(src, cache)
        done = dest / ".done"
        if not done.exists():
            tmp = C._fresh_tmp(dest)
            if src["kind"] == "npm":
                top = _fetch_npm(src, tmp)
            elif src["kind"] == "pypi":
                top = _fetch_pypi(src, tmp)
            elif src["kind"] == "debian":
                top = _fetch_debian(src, tmp, cache)
            else:
                raise RuntimeError(f"{project['name']}: unknown source kind {src['kind']!r}")
            shutil.rmtree(tmp / "download", ignore_errors=True)
            rel = top.relative_to(tmp)
            tmp.rename(dest)
            (dest / ".done").write_text(str(rel))
        top = dest / done.read_text().strip()
        if src["kind"] == "debian":
            shutil.rmtree(top / ".pc", ignore_errors=True)  # also in trees fetched before
    root = top / project.get("subdir", "") if project.get("subdir") else top
    if not root.is_dir():
        raise RuntimeError(f"{project['name']}: subdir {project.get('subdir')!r} not found")
    return root
