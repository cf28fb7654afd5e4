"""The persistent index: reuse, incremental updates, and damaged caches."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from contextpack.embed import get_embedder
from contextpack.index import IndexSettings, open_index
from contextpack.tokens import get_tokenizer


def build(root: Path, **kw: object):  # type: ignore[no-untyped-def]
    return open_index(root, get_tokenizer(), get_embedder("static"), IndexSettings(**kw))  # type: ignore[arg-type]


def test_warm_index_reprocesses_nothing(repo: Path) -> None:
    cold = build(repo)
    assert cold.stats["cache"] == "cold" and cold.stats["files_reindexed"] == 15
    warm = build(repo)
    assert warm.stats["cache"] == "warm" and warm.stats["files_reindexed"] == 0
    assert warm.texts == cold.texts
    assert (warm.dense_vectors() == cold.dense_vectors()).all()


def test_one_changed_file_is_the_only_work(repo: Path) -> None:
    build(repo)
    p = repo / "sample.py"
    p.write_text(p.read_text().replace("def total(", "def grand_total("))
    (repo / "new.py").write_text("def brand_new():\n    return 42\n")
    (repo / "notes.txt").unlink()
    ix = build(repo)
    assert ix.stats["cache"] == "updated"
    assert ix.stats["files_reindexed"] == 2
    f = ix.paths.index("sample.py")
    py_symbols = {ix.symbols[i] for i in ix.chunks_of_file(f)}
    assert "grand_total" in py_symbols and "total" not in py_symbols
    assert "brand_new" in ix.symbols
    assert "notes.txt" not in ix.paths
    assert ix.paths == sorted(ix.paths)
    fresh = build(repo, use_cache=False)
    assert ix.texts == fresh.texts and ix.symbols == fresh.symbols
    assert (ix.tok_full == fresh.tok_full).all()
    assert ix.symbols_by_name.keys() == fresh.symbols_by_name.keys()


def test_shared_cache_reuses_analyses_across_roots(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build(repo, cache_dir=str(cache))
    import shutil

    twin = tmp_path / "twin"
    shutil.copytree(repo, twin, ignore=shutil.ignore_patterns(".contextpack"))
    ix = build(twin, cache_dir=str(cache))
    assert ix.stats["cache"] == "cold"
    assert not (twin / ".contextpack").exists()


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_snapshot_is_rebuilt_with_a_warning(repo: Path, damage: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    good = build(repo)
    (snap,) = list((repo / ".contextpack").rglob("snapshot-*.bin"))
    data = snap.read_bytes()
    if damage == "truncate":
        snap.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        pos = len(data) - 100
        snap.write_bytes(data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :])
    elif damage == "garbage":
        snap.write_bytes(b"not a snapshot at all")
    else:
        snap.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="contextpack"):
        again = build(repo)
    assert "rebuilding" in caplog.text
    assert again.texts == good.texts
