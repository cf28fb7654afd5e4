"""Redactions on real source trees, for estimating false positives by reading a sample.

    python bench/redaction.py DIR... [--sample N] [--show]

For each DIR: files read, redactions by kind, and (with --show) a sample of the redacted
lines, before and after, to judge by eye. Run it with another contextpack first on
PYTHONPATH for a baseline. Fetch trees with
``pip download --no-deps --no-binary :all: Django==5.0`` and unpack them.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from contextpack.redact import redact
from contextpack.sources import SourceFile, read_source, scan


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args()
    for root in args.dirs:
        found = scan(root)
        kinds: Counter[str] = Counter()
        rows = []
        files = 0
        t = time.perf_counter()
        for fs in found.files:
            src = read_source(fs)
            if not isinstance(src, SourceFile):
                continue
            files += 1
            out, red = redact(src.text, src.path)
            before, after = src.text.split("\n"), out.split("\n")
            for r in red:
                kinds[r.kind] += 1
                rows.append((src.path, r.line, r.kind, before[r.line - 1][:160],
                             after[r.line - 1][:160]))
        took = time.perf_counter() - t
        lines = len({(p, n) for p, n, *_ in rows})
        print(f"{root}: {files} files, {sum(kinds.values())} redactions on {lines} lines "
              f"in {len({p for p, *_ in rows})} files ({took:.1f} s): "
              + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
        if args.show:
            for row in random.Random(0).sample(rows, min(args.sample, len(rows))):
                print("  {}:{} {}\n    - {}\n    + {}".format(*row))


if __name__ == "__main__":
    main()
