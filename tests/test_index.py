"""The persistent index: reuse, incremental updates, and damaged caches."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from contextpack.embed import get_embedder
from contextpack.index import IndexSettings, open_index, settle_writes
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


# ------------------------------------------------------------ incremental updates
def _terms_by_chunk(ix, m):  # type: ignore[no-untyped-def]
    """Each row of a sparse matrix as {term: count}: vocabulary ids differ between an
    updated index (new terms appended) and a fresh one."""
    names = dict((tid, t) for t, tid in ix.vocab.as_dict().items())
    return [{names[int(t)]: float(v) for t, v in zip(m.indices[a:b], m.data[a:b])}
            for a, b in zip(m.indptr[:-1], m.indptr[1:])]


def _assert_same_index(ix, fresh) -> None:  # type: ignore[no-untyped-def]
    assert ix.paths == fresh.paths and ix.digests == fresh.digests
    assert list(ix.texts) == list(fresh.texts) and list(ix.refs) == list(fresh.refs)
    assert ix.symbols == fresh.symbols and list(ix.defs) == list(fresh.defs)
    for name in ("chunk_file", "starts", "ends", "part", "tok_full", "tok_skel", "text_crc",
                 "file_chunks"):
        assert np.array_equal(getattr(ix, name), getattr(fresh, name)), name
    assert _terms_by_chunk(ix, ix.chunk_terms) == _terms_by_chunk(fresh, fresh.chunk_terms)
    assert _terms_by_chunk(ix, ix.file_terms) == _terms_by_chunk(fresh, fresh.file_terms)
    for name in ("src", "dst", "weight"):
        assert np.array_equal(getattr(ix.graph, name), getattr(fresh.graph, name)), name
    for table in ("symbols_by_name", "files_by_name", "path_words"):
        a, b = getattr(ix, table), getattr(fresh, table)
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) for k in a.keys()), table
    assert np.array_equal(ix.dense_vectors(), fresh.dense_vectors())


def test_an_updated_index_equals_a_fresh_build(repo: Path) -> None:
    build(repo)
    (repo / "sample.py").write_text((repo / "sample.py").read_text() + "\n\ndef added_later(total):\n"
                                    "    return total(1)\n")
    (repo / "sample.go").unlink()
    (repo / "sample.rb").rename(repo / "aaa_first.rb")
    (repo / "zz").mkdir()
    (repo / "zz" / "late.js").write_text("function lateComer(a) { return greet(a); }\n")
    ix = build(repo)
    assert ix.stats["cache"] == "updated" and ix.stats["files_reindexed"] == 3
    _assert_same_index(ix, build(repo, use_cache=False))
    warm = build(repo)  # and the snapshot it wrote loads as the same index
    assert warm.stats["cache"] == "warm"
    _assert_same_index(warm, build(repo, use_cache=False))


def test_an_edit_that_keeps_every_path_keeps_the_path_tables(repo: Path) -> None:
    build(repo)
    (repo / "sample.py").write_text((repo / "sample.py").read_text() + "\n# touched\n")
    ix = build(repo)
    assert ix.stats["cache"] == "updated" and ix.stats["files_reindexed"] == 1
    _assert_same_index(ix, build(repo, use_cache=False))
    (repo / "sample.py").rename(repo / "renamed.py")  # a new path: the tables follow it
    ix = build(repo)
    assert "renamed.py" in ix.files_by_name and "sample.py" not in ix.files_by_name
    _assert_same_index(ix, build(repo, use_cache=False))


def _stored_versions(repo: Path, path: str) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(repo / ".contextpack" / "store.sqlite")
    try:
        return {table: sum(1 for (k,) in conn.execute(f"SELECT key FROM {table}")
                           if k.split("\0")[-2] == path)
                for table in ("analysis", "counts", "vectors")}
    finally:
        conn.close()


def test_edits_keep_two_versions_of_a_file_in_the_store(repo: Path) -> None:
    build(repo)
    p = repo / "sample.py"
    original = p.read_text()
    for i in range(4):
        p.write_text(original + f"\n# edit {i}\n")
        ix = build(repo)
    assert _stored_versions(repo, "sample.py") == {"analysis": 2, "counts": 2, "vectors": 2}
    assert ix.stats["store_pruned"] == 3  # edit 1's rows, when edit 3 replaced edit 2
    p.write_text(original + "\n# edit 2\n")  # an undo: the replaced version is still there
    ix = build(repo)
    assert ix.stats["files_reindexed"] == 1 and ix.stats["files_mapped"] == 0
    p.unlink()  # a deleted file keeps the version it had
    build(repo)
    assert _stored_versions(repo, "sample.py") == {"analysis": 1, "counts": 1, "vectors": 1}


def test_a_writer_removes_leftovers_and_week_old_foreign_snapshots(repo: Path) -> None:
    import json
    import os
    import time

    from contextpack.index.persist import FORMAT, MAGIC

    build(repo)
    (snap,) = list((repo / ".contextpack").rglob("snapshot-*.bin"))
    folder = snap.parent
    leftover = folder / f".{snap.name}.999999.1.tmp"
    leftover.write_bytes(b"half a snapshot")

    def sibling(name: str, age_days: float, **header: object) -> Path:
        path = folder / name
        path.write_bytes(MAGIC + json.dumps(header).encode() + b"\n")
        old = time.time() - age_days * 86400
        os.utime(path, (old, old))
        return path

    mine = json.loads(snap.read_bytes()[len(MAGIC):].split(b"\n", 1)[0])
    upgraded = sibling("snapshot-aaaaaaaaaaaa.bin", 8, **dict(mine, format=FORMAT - 1))
    recent = sibling("snapshot-bbbbbbbbbbbb.bin", 1, **dict(mine, format=FORMAT - 1))
    other_tokenizer = sibling("snapshot-cccccccccccc.bin", 30, **dict(
        mine, variant="o200k_base|" + mine["variant"].split("|", 1)[1]))
    old_analysis = sibling("snapshot-dddddddddddd.bin", 8, **dict(
        mine, variant=mine["variant"].rsplit("|analysis", 1)[0] + "|analysis1"))
    (repo / "new.py").write_text("x = 1\n")
    build(repo)
    assert not leftover.exists() and not upgraded.exists() and not old_analysis.exists()
    assert recent.exists() and other_tokenizer.exists() and snap.exists()


def test_write_behind_leaves_the_same_cache_once_settled(repo: Path) -> None:
    from filelock import FileLock

    ix = build(repo, write_behind=True)
    assert ix.stats["cache"] == "cold" and "write_s" not in ix.stats
    settle_writes()
    assert "write_s" in ix.stats and ix.stats["store_pruned"] == 0
    lock = FileLock(str(repo / ".contextpack" / "lock"))
    lock.acquire(timeout=0)  # released by the writes' thread
    lock.release()
    warm = build(repo)
    assert warm.stats["cache"] == "warm" and warm.texts == ix.texts
    p = repo / "sample.py"
    p.write_text(p.read_text() + "\n# an edit\n")
    edited = build(repo, write_behind=True)
    again = build(repo)  # reads the cache once the writes above are done
    assert again.stats["cache"] == "warm" and again.texts == edited.texts
    assert edited.stats["files_reindexed"] == 1 and "write_s" in edited.stats
    assert _stored_versions(repo, "sample.py") == {"analysis": 2, "counts": 2, "vectors": 2}


# ------------------------------------------------------------ columns and the graph
def test_columns_join_take_and_flatten_without_decoding_each_row() -> None:
    from contextpack.index.columns import KeyIndex, StringColumn, TupleColumn, Vocabulary

    a, b = StringColumn(["x", "", "é☃"]), StringColumn(["tail", "\udcff"])
    both = a.concat(b)
    assert list(both) == ["x", "", "é☃", "tail", "\udcff"] and both.tolist() == list(both)
    rows = [3, 4, 0, 1, 2, 2]
    assert list(both.take(rows)) == [both[i] for i in rows]
    assert StringColumn(["ab", "c"]).tolist() == ["ab", "c"]
    t = TupleColumn([(), ("a",), ()]).concat(TupleColumn([("b", "é"), ()]))
    flat_rows, names = t.flat()
    assert flat_rows.tolist() == [1, 3, 3] and names == ["a", "b", "é"]
    assert TupleColumn([(), ()]).flat()[1] == []
    k = KeyIndex.from_pairs(["b", "a"], np.array([0, 1, 0]), np.array([7, 8, 9]))
    assert k.keys() == ["a", "b"] and k["a"].tolist() == [8] and k["b"].tolist() == [7, 9]
    vocab = Vocabulary()
    for term in ("x", "y"):
        vocab.add(term)
    loaded = Vocabulary.of_key_index(vocab.key_index())
    assert loaded.as_dict() == {"x": 0, "y": 1}
    keys = loaded.key_index()
    assert loaded.key_index() is keys  # unchanged: its sorted keys are reused
    loaded.add("z")
    assert Vocabulary.of_key_index(loaded.key_index()).get("z") == 2
    blob, offsets = StringColumn(["ab", "é"]).parts()
    viewed = StringColumn.of_parts(np.frombuffer(bytes(blob), np.uint8), offsets)
    assert viewed.tolist() == ["ab", "é"] and viewed[1] == "é" and viewed == StringColumn(["ab", "é"])
    with pytest.raises(ValueError):
        StringColumn.of_parts(b"abc", np.array([0, 5]))


def test_graph_from_flat_pairs_matches_the_tuple_form() -> None:
    from contextpack import graph as graph_mod

    defs = [("f",), ("g", "self"), (), ("f",)]
    refs = [("g",), ("f", "missing"), ("f", "g", "self"), ()]
    g = graph_mod.build(defs, refs, np.zeros(4, np.int32), 1)
    rows = np.array([0, 1, 1, 3])
    ref_rows = np.array([0, 1, 1, 2, 2, 2])
    flat = graph_mod.build_flat(4, rows, ["f", "g", "self", "f"], ref_rows,
                                ["g", "f", "missing", "f", "g", "self"])
    for name in ("src", "dst", "weight"):
        assert np.array_equal(getattr(g, name), getattr(flat, name))
    assert g.src.size


def test_nearest_is_exact_best_first_ties_by_row() -> None:
    import numpy as np

    from contextpack.index.core import Index

    ix = Index("/r", "cl100k_base", "m")
    rng = np.random.default_rng(7)
    ix.vectors = rng.standard_normal((500, 16)).astype(np.float16)
    ix.vectors[[40, 3, 250]] = ix.vectors[99]  # four rows tie
    q = ix.vectors[99].astype(np.float32) * 2
    sims, rows = ix.nearest(q, 10)
    want = ix.vectors.astype(np.float32) @ q
    assert rows[:4].tolist() == [3, 40, 99, 250]
    assert np.allclose(sims, want[rows], rtol=1e-5)
    assert sorted(want, reverse=True)[:10] == pytest.approx(sims.tolist(), rel=1e-5)
    assert ix.nearest(q, 0)[1].size == 0 and ix.nearest(q, 10_000)[1].size == 500

def _assert_same_derived(ix, full) -> None:  # type: ignore[no-untyped-def]
    """Every table finalize derives, equal array for array (keys as stored)."""
    _assert_same_index(ix, full)
    for table in ("symbols_by_name", "files_by_name", "path_words"):
        (ka, pa, va), (kb, pb, vb) = getattr(ix, table).parts(), getattr(full, table).parts()
        assert ka == kb and np.array_equal(pa, pb) and np.array_equal(va, vb), table
        assert va.dtype == vb.dtype and pa.dtype == pb.dtype, table
    for name in ("src", "dst", "weight"):
        assert getattr(ix.graph, name).dtype == getattr(full.graph, name).dtype, name
    for model in ("chunk_bm25", "file_bm25"):
        a, b = getattr(ix, model), getattr(full, model)
        assert np.array_equal(a.idf, b.idf) and np.array_equal(a.norm, b.norm), model


def test_an_incremental_finalize_equals_a_full_one(repo: Path) -> None:
    """A resident index with per-chunk name ids (prepare_updates) updates its graph and
    name tables for the changed files only; each step equals the same update derived
    from every chunk's names, table for table, and packs the same bytes."""
    from contextpack import Packer

    (repo / "sample.py").write_text((repo / "sample.py").read_text()
                                    + "\n\nclass Ledger:\n    def total(self):\n"
                                    "        return greet(self)\n")
    fast = Packer(repo, embedder="static")
    full = Packer(repo, embedder="static")
    fast.index.prepare_updates()
    state = fast.index.names_state
    assert state is not None and full.index.names_state is None
    py = repo / "sample.py"

    def edits():  # type: ignore[no-untyped-def]
        yield lambda: py.write_text(py.read_text() + "\n\ndef added_later(total):\n"
                                    "    return total(1) + Ledger().total()\n")
        yield lambda: py.write_text(py.read_text().replace("def total(", "def grand_total("))
        yield lambda: (repo / "aaa.py").write_text("def greet(x):\n    return added_later(x)\n")
        yield lambda: (repo / "sample.go").unlink()
        yield lambda: (repo / "sample.rb").rename(repo / "mid.rb")
        yield lambda: (repo / "zz.js").write_text("function lateComer(a) { return greet(a); }\n")
        yield lambda: py.write_text("def only(self):\n    return super().only()\n")

    for step in edits():
        step()
        fast.refresh(in_memory=True)
        full.refresh(in_memory=True)
        assert fast.index.stats["files_reindexed"] >= 0
        assert fast.index.names_state is state  # the incremental path, kept up to date
        assert full.index.names_state is None
        _assert_same_derived(fast.index, full.index)
        assert fast.index.graph is not None and fast.index.graph.src.size
        for query in ("total greet", "Ledger.total", "lateComer added_later", ""):
            assert fast.pack(query, 600).text == full.pack(query, 600).text


def test_a_build_on_worker_processes_equals_one_from_the_store_and_a_serial_one(
        tmp_path: Path) -> None:
    """Enough files to map them on worker processes: the index must be the one a build
    taking every row from the store, and a build in one process, make: the same rows and
    skips, and a secret found in one file taken out of the others."""
    import os

    from contextpack.index.engine import PARALLEL_MIN_FILES

    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    for i in range(PARALLEL_MIN_FILES + 6):
        (repo / "pkg" / f"m{i:03d}.py").write_text(
            f"def handler_{i}(request):\n    return render(request, 'page{i}.html')\n")
    (repo / "settings.py").write_text('DB = {"PASSWORD": "Zq8vWx2Lp9Rt"}\n')
    (repo / "pkg" / "deploy.py").write_text('db.connect(user, "Zq8vWx2Lp9Rt")\n')
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x00\x00")
    cache = str(tmp_path / "cache")
    cold = build(repo, cache_dir=cache)
    assert cold.stats["cache"] == "cold" and cold.stats["files_mapped"] == PARALLEL_MIN_FILES + 8
    for snap in (tmp_path / "cache").rglob("snapshot-*"):
        os.remove(snap)
    again = build(repo, cache_dir=cache)
    assert again.stats["files_mapped"] == 0
    serial = build(repo, use_cache=False, jobs=1)
    for ix in (again, serial):
        assert ix.paths == cold.paths and ix.texts == cold.texts
        assert (ix.tok_full == cold.tok_full).all()
        assert np.array_equal(ix.dense_vectors(), cold.dense_vectors())
        assert ix.skipped == cold.skipped
    assert {p: kind for p, (_, _, kind) in cold.skipped.items()} == {"logo.png": "binary"}
    assert not any("Zq8vWx2Lp9Rt" in t for t in cold.texts)


def test_tests_are_found_by_their_words_not_embedded(tmp_path: Path) -> None:
    from contextpack.api import Packer, Settings
    from contextpack.rank import Weights, rank

    (tmp_path / "src").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "src" / "ports.py").write_text(
        "def parse_port(text):\n    return int(text)\n\n\ndef parse_host(text):\n"
        "    return text.strip()\n")
    (tmp_path / "tests" / "test_ports.py").write_text(
        "from ports import parse_port\n\n\ndef test_parse_port_rejects_words():\n"
        "    assert parse_port('80') == 80\n")
    p = Packer(tmp_path, Settings(use_cache=False, embedder="static"))
    index = p.index
    vectors = index.dense_vectors()
    assert vectors is not None
    norms = np.linalg.norm(vectors.astype(np.float32), axis=1)
    is_test = np.array([index.paths[int(f)].startswith("tests/") for f in index.chunk_file])
    assert is_test.any() and (norms[is_test] == 0).all() and (norms[~is_test] > 0.5).all()
    ranking = rank(index, "test_parse_port_rejects_words", p.embedder, Weights())
    test_row = index.symbols.index("test_parse_port_rejects_words")
    assert ranking.signals["name"][test_row] == 1.0 and ranking.signals["bm25"][test_row] == 1.0
    assert test_row in ranking.order()[:2].tolist()  # with the code it tests
    assert ranking.signals["dense"][test_row] == 0.0
    assert ranking.signals["dense"][~is_test].max() == 1.0  # the median is the code's alone


@dataclasses.dataclass(frozen=True, slots=True)
class _OneField:
    a: int


@dataclasses.dataclass(frozen=True, slots=True)
class _TwoFields:
    a: int
    b: tuple[str, ...]


def test_rows_pickle_as_constructor_calls() -> None:
    import pickle

    from contextpack.types import Chunk, pickled_by_fields

    one, two = pickled_by_fields(_OneField), pickled_by_fields(_TwoFields)
    assert one(7).__reduce__() == (one, (7,))
    assert two(1, ("x",)).__reduce__() == (two, (1, ("x",)))
    assert pickle.loads(pickle.dumps(one(7))) == one(7)
    chunk = Chunk(path="a.py", start_line=1, end_line=2, kind="function", symbol="f",
                  language="python", text="def f():\n    pass", skeleton="def f():",
                  defs=("f",))
    assert pickle.loads(pickle.dumps(chunk)) == chunk
