"""The cache under stress: damaged or foreign files are rebuilt with a warning, two
processes at once and Ctrl-C leave it usable, and the user's files are never touched."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contextpack.api import Packer, Settings
from contextpack.index import IndexSettings, open_index
from contextpack.index.persist import MAGIC
from contextpack.index.seal import MAC_BYTES, cache_key, snapshot_mac
from contextpack.index.store import GITIGNORE
from contextpack.tokens import get_tokenizer


def fresh_pack(root: Path) -> str:
    return Packer(root, Settings(use_cache=False)).pack("greet people", 3000, "json").text


def cached_pack(root: Path, **kw: object) -> str:
    return Packer(root, Settings(**kw)).pack("greet people", 3000, "json").text  # type: ignore[arg-type]


def snapshot_of(cache: Path) -> Path:
    (snap,) = cache.rglob("snapshot-*.bin")
    return snap


def rewrite_header(snap: Path, sign: bool = True, **changes: object) -> None:
    """Change header fields; re-sign with this user's key (as only this installation could)
    unless ``sign`` is false."""
    data = snap.read_bytes()[:-MAC_BYTES]
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    header.update(changes)
    body = MAGIC + json.dumps(header, sort_keys=True).encode() + data[end:]
    mac = snapshot_mac(cache_key()) if sign else snapshot_mac(b"k" * 32)
    mac.update(body)
    snap.write_bytes(body + mac.digest())


@pytest.mark.parametrize("damage", ["format", "unsigned", "root", "delete", "tmp-leftover"])
def test_foreign_or_missing_snapshot_is_rebuilt(repo: Path, damage: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """Extends test_index's truncate/flip/garbage/empty cases."""
    expected = fresh_pack(repo)
    cached_pack(repo)
    snap = snapshot_of(repo / ".contextpack")
    if damage == "format":
        rewrite_header(snap, format=999)
    elif damage == "unsigned":
        rewrite_header(snap, sign=False)
    elif damage == "root":
        rewrite_header(snap, root="/somewhere/else")
    elif damage == "delete":
        snap.unlink()
    else:  # a writer killed between writing its temporary file and renaming it
        (snap.parent / f".{snap.name}.12345.1.tmp").write_bytes(b"half a snapshot")
    with caplog.at_level(logging.WARNING, logger="contextpack"):
        assert cached_pack(repo) == expected
    if damage in ("format", "unsigned", "root"):
        assert "rebuilding it" in caplog.text
    assert "has format 999" in caplog.text or damage != "format"
    assert "not written by this installation" in caplog.text or damage != "unsigned"
    assert "was built for root=" in caplog.text or damage != "root"
    assert cached_pack(repo) == expected  # and the rebuilt cache is good


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip-row", "version", "delete"])
def test_damaged_store_is_started_afresh(repo: Path, damage: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    expected = fresh_pack(repo)
    cached_pack(repo)
    cache = repo / ".contextpack"
    store = cache / "store.sqlite"
    snapshot_of(cache).unlink()  # force a rebuild that reads the store
    data = store.read_bytes()
    if damage == "garbage":
        store.write_bytes(os.urandom(len(data)))
    elif damage == "truncate":
        store.write_bytes(data[: len(data) // 3])
    elif damage == "flip-row":
        with sqlite3.connect(store) as conn:
            blob = conn.execute("SELECT data FROM analysis LIMIT 1").fetchone()[0]
        conn.close()
        pos = data.index(blob[40:80]) + 10  # a byte inside a stored analysis
        store.write_bytes(data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :])
    elif damage == "version":
        conn = sqlite3.connect(store)
        conn.execute("PRAGMA user_version=99")
        conn.close()
    else:
        store.unlink()
    with caplog.at_level(logging.WARNING, logger="contextpack"):
        assert cached_pack(repo) == expected
    want = {"garbage": "is damaged", "truncate": "is damaged",
            "flip-row": "not written by this installation or damaged",
            "version": "has format 99", "delete": ""}[damage]
    assert want in caplog.text
    assert cached_pack(repo) == expected


def _generate(root: Path, n: int) -> None:
    for d in range(n // 100):
        pkg = root / f"pkg{d}"
        pkg.mkdir(parents=True)
        for i in range(100):
            (pkg / f"mod{i}.py").write_text(
                f"def func_{d}_{i}(x):\n    return x + {i}\n\n\n"
                f"class Thing{i}:\n    def method(self, y):\n"
                f"        return func_{d}_{i}(y) * {d}\n")


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 small files: a cold build of them takes a couple of seconds."""
    root = tmp_path_factory.mktemp("many") / "src"
    _generate(root, 2000)
    return root


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "contextpack", *args]


def _same_index(root: Path, cache: Path) -> None:
    tok = get_tokenizer()
    warm = open_index(root, tok, None, IndexSettings(cache_dir=str(cache)))
    assert warm.stats["cache"] == "warm"
    fresh = open_index(root, tok, None, IndexSettings(use_cache=False))
    assert warm.paths == fresh.paths
    assert list(warm.texts) == list(fresh.texts)
    assert (warm.tok_full == fresh.tok_full).all()


def test_two_processes_indexing_at_once(tmp_path: Path) -> None:
    root, cache = tmp_path / "src", tmp_path / "cache"
    _generate(root, 800)
    cmd = _cli("index", str(root), "--cache-dir", str(cache), "--embedder", "none")
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "indexed 800 files" in err
    # one built it; the other waited on the lock and found it done (or built the rest)
    assert any("(cold" in err for _, err in results)
    _same_index(root, cache)
    assert not list(cache.rglob("*.tmp"))


def test_ctrl_c_mid_build_leaves_a_usable_cache(many_files: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cmd = _cli("index", str(many_files), "--cache-dir", str(cache), "--embedder", "none", "-j", "1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (cache / "lock").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the lock is taken just before files are read and parsed
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the build finished before the interrupt arrived")
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not list(cache.rglob("*.tmp"))
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "indexed 2,000 files" in again.stderr
    _same_index(many_files, cache)


def tree(root: Path) -> dict[str, str]:
    """Every path under root (but .contextpack) with its content hash, or 'dir'."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel == ".contextpack" or rel.startswith(".contextpack/"):
            continue
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_a_build_never_touches_the_sources(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "debug.log").write_text("ignored but present\n")
    before = tree(repo)
    mtimes = {p: p.stat().st_mtime_ns for p in repo.rglob("*") if p.is_file()}
    from click.testing import CliRunner

    from contextpack.cli import main

    for args in (["index", str(repo)], ["build", str(repo), "-b", "2000", "--query", "greet"],
                 ["stats", str(repo)]):
        assert CliRunner().invoke(main, args).exit_code == 0
    assert tree(repo) == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    cache = repo / ".contextpack"
    assert (cache / ".gitignore").read_text() == GITIGNORE
    assert "\n*\n" in GITIGNORE  # git ignores the whole cache folder


def test_cache_dir_option_and_env_keep_the_root_clean(repo: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = tree(repo)
    cached_pack(repo, cache_dir=str(tmp_path / "opt"))
    assert list((tmp_path / "opt").rglob("snapshot-*.bin"))
    monkeypatch.setenv("CONTEXTPACK_CACHE_DIR", str(tmp_path / "env"))
    cached_pack(repo)
    assert list((tmp_path / "env").rglob("snapshot-*.bin"))
    assert not (repo / ".contextpack").exists()
    assert tree(repo) == before


def test_unwritable_root_caches_in_the_user_cache_folder(repo: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    import contextpack.index.store as store_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CONTEXTPACK_CACHE_DIR", raising=False)
    real = store_mod._writable
    monkeypatch.setattr(store_mod, "_writable",
                        lambda folder: False if folder == repo / ".contextpack" else real(folder))
    with caplog.at_level(logging.WARNING, logger="contextpack"):
        cached_pack(repo)
    assert "caching in" in caplog.text
    assert list((tmp_path / "xdg" / "contextpack").rglob("snapshot-*.bin"))
    assert not (repo / ".contextpack").exists()
