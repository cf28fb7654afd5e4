"""Cold index of a repository on one machine beside the same build on a Dask cluster.

Measures, in one run, the wall time of a cold ``contextpack index`` (empty cache, static
embedder) built by this machine's worker processes, and by ``--engine dask`` on a
``LocalCluster`` of 1 and of 2 single-threaded worker processes started here, and checks
that every build gives the same index (paths, chunk texts, token counts, vectors).

    python bench/engine_speed.py                       # Django 5.0 at /work/data/Django-5.0
    python bench/engine_speed.py --repo PATH --out /tmp/engine.md

The cluster's start-up is timed apart from the build. Needs ``pip install -e '.[dask]'``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(repo: Path, cache: Path, engine: object | None) -> tuple[float, object]:
    from contextpack.api import Packer, Settings

    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.perf_counter()
    packer = Packer(repo, Settings(cache_dir=str(cache), embedder="static", engine=engine))
    return time.perf_counter() - t0, packer.index


def same(a: object, b: object) -> bool:
    return (a.paths == b.paths and list(a.texts) == list(b.texts)  # type: ignore[attr-defined]
            and (a.tok_full == b.tok_full).all()  # type: ignore[attr-defined]
            and (a.vectors == b.vectors).all())  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", default="/work/data/Django-5.0")
    parser.add_argument("--out", default=str(HERE / "results" / "engine.md"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from distributed import Client, LocalCluster

    from contextpack.index.engine import DaskEngine

    repo = Path(args.repo)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t_single, ref = build(repo, Path(tmp) / "single", None)
        rows.append(("this machine (worker processes, -j default)", t_single, 0.0, True))
        for n in (1, 2):
            t0 = time.perf_counter()
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=":0", silence_logs=40) as cluster, \
                    Client(cluster, set_as_default=False) as client:
                t_start = time.perf_counter() - t0
                seconds, ix = build(repo, Path(tmp) / f"dask{n}", DaskEngine(client))
            rows.append((f"--engine dask, LocalCluster of {n} worker{'s' * (n > 1)}", seconds,
                         t_start, same(ix, ref)))
    files, chunks = ref.n_files, ref.n_chunks  # type: ignore[attr-defined]
    lines = [
        "# Index build: one machine beside a Dask cluster", "",
        f"Written by `python bench/engine_speed.py --repo {args.repo}` on "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.", "",
        f"- repository: `{repo}` ({files:,} files, {chunks:,} chunks)",
        f"- cpus (nproc): {os.cpu_count()}; python {platform.python_version()}; "
        f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", "",
        "| build | cold index | vs one machine | cluster start | same index |",
        "|---|---:|---:|---:|---|",
    ]
    for name, seconds, start, ok in rows:
        lines.append(f"| {name} | {seconds:.1f} s | {seconds / t_single:.2f}x | "
                     f"{start:.1f} s | {'yes' if ok else 'NO'} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
