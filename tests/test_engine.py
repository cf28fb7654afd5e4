"""The index built on a real Dask cluster (a LocalCluster of two worker processes, started
here) is the index one machine builds: byte-identical packs, nothing mapped twice, and a
worker killed mid-build still gives a complete index."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contextpack.api import Packer, Settings
from contextpack.errors import ConfigError
from contextpack.index.engine import DaskEngine, get_engine

QUERY = "greet people"


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as cluster, \
            Client(cluster, set_as_default=False) as c:
        yield c


def packs(root: Path, settings: Settings) -> tuple[str, str, Packer]:
    packer = Packer(root, settings)
    return (packer.pack(QUERY, 3000, "json").text, packer.pack("", 2000, "xml").text, packer)


def test_the_engine_builds_the_index_one_machine_builds(repo: Path, tmp_path: Path,
                                                        client: object) -> None:
    local = packs(repo, Settings(cache_dir=str(tmp_path / "local")))
    engine = DaskEngine(client, batch_bytes=2000)
    remote = packs(repo, Settings(cache_dir=str(tmp_path / "remote"), engine=engine))
    assert remote[:2] == local[:2]
    a, b = local[2].index, remote[2].index
    assert list(a.texts) == list(b.texts) and a.paths == b.paths
    assert (a.tok_full == b.tok_full).all() and (a.tok_skel == b.tok_skel).all()
    assert (a.vectors == b.vectors).all()
    assert b.stats["files_mapped"] == b.n_files
    # the snapshot gone, a rebuild finds every file in the store: nothing is sent again
    for snap in (tmp_path / "remote").rglob("snapshot-*.bin"):
        snap.unlink()
    again = packs(repo, Settings(cache_dir=str(tmp_path / "remote"), engine=engine))
    assert again[:2] == local[:2] and again[2].index.stats["files_mapped"] == 0


def _generate(root: Path, n: int) -> None:
    for i in range(n):
        (root / f"pkg{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{i % 10}" / f"mod{i}.py").write_text(
            f'"""Module {i}: greeting helpers."""\n\n\ndef greet_{i}(name):\n'
            f'    """Greet people called name, {i} times."""\n'
            f'    return " ".join(["hello " + name] * {i % 7 + 1})\n\n\n'
            f"class Greeter{i}:\n    def greet(self, people):\n"
            f"        return [greet_{i}(p) for p in people]\n")


def test_a_worker_killed_mid_build_still_gives_a_complete_index(tmp_path: Path,
                                                                client: object) -> None:
    root = tmp_path / "src"
    _generate(root, 300)
    local = packs(root, Settings(cache_dir=str(tmp_path / "local"), embedder="none"))
    engine = DaskEngine(client, batch_bytes=600)  # many small tasks
    got: dict[str, object] = {}

    def build() -> None:
        try:
            got["packs"] = packs(root, Settings(cache_dir=str(tmp_path / "remote"),
                                                embedder="none", engine=engine))
        except BaseException as exc:  # pragma: no cover - reported below
            got["error"] = exc

    thread = threading.Thread(target=build)
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline and thread.is_alive():
        busy = [w for w, tasks in client.processing().items() if tasks]  # type: ignore[attr-defined]
        victim = busy[0] if busy else None
        time.sleep(0.005)
    if victim is None:
        thread.join()
        pytest.skip("the build finished before a worker could be killed")
    pid = client.run(os.getpid, workers=[victim])[victim]  # type: ignore[attr-defined]
    os.kill(pid, signal.SIGKILL)  # the nanny starts a new worker; its tasks run elsewhere
    thread.join(timeout=300)
    assert "error" not in got, got.get("error")
    remote = got["packs"]
    assert remote[:2] == local[:2]  # type: ignore[index]
    assert remote[2].index.n_files == 300  # type: ignore[index]


def test_engine_names_and_errors() -> None:
    assert get_engine("local", None) is None
    with pytest.raises(ConfigError, match="needs --scheduler"):
        get_engine("dask", None)
    with pytest.raises(ConfigError, match="needs --engine dask"):
        get_engine("local", "tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        DaskEngine("tcp://127.0.0.1:9", timeout=1)._client()
