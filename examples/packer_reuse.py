"""Serve many queries from one index: a Packer against cold one-shot pack() calls.

    python examples/packer_reuse.py [PATH] [--queries 100] [--budget 8000]

PATH defaults to this repository. The index cache goes to a fresh temporary folder, so the
first pack() is truly cold (it chunks, counts and embeds every file); the second finds
that cache on disk; the Packer loads it once and then only ranks and packs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import contextpack

TOPICS = ["url routing", "database migrations", "form validation", "template rendering",
          "password hashing", "session middleware", "query set filtering", "caching backend",
          "signals dispatch", "admin site registration", "CSRF protection", "file uploads",
          "timezone handling", "email sending", "model field choices", "pagination",
          "static files", "management commands", "test client", "json serialization"]
FORMS = ["how does {} work?", "where is {} implemented?", "bug in {} when the input is empty",
         "add an option to {}", "explain {}"]


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=str(here))
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--budget", type=int, default=8000)
    args = parser.parse_args()
    queries = [f.format(t) for t in TOPICS for f in FORMS][: args.queries]
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        contextpack.pack(queries[0], args.path, args.budget, cache_dir=cache)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        contextpack.pack(queries[1], args.path, args.budget, cache_dir=cache)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        packer = contextpack.Packer(args.path, cache_dir=cache)
        load = time.perf_counter() - t0
        times = []
        for q in queries:
            t0 = time.perf_counter()
            packer.pack(q, args.budget)
            times.append(time.perf_counter() - t0)
    ix = packer.index
    print(f"{args.path}: {ix.n_files:,} files, {ix.n_chunks:,} chunks, "
          f"{ix.total_tokens():,} tokens; budget {args.budget:,}")
    print(f"cold pack():              {cold:8.2f} s")
    print(f"pack() with a warm cache: {warm:8.2f} s")
    print(f"Packer() (loads index):   {load:8.2f} s")
    print(f"Packer.pack(), {len(times)} queries: median {statistics.median(times) * 1000:.0f} ms, "
          f"p95 {sorted(times)[int(len(times) * 0.95) - 1] * 1000:.0f} ms, "
          f"total {sum(times):.1f} s")


if __name__ == "__main__":
    main()
