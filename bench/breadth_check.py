#!/usr/bin/env python
"""Print each breadth question with the text of its gold span(s), for a second reader.

    python bench/breadth_check.py --projects httpx          # every httpx question
    python bench/breadth_check.py --ids httpx-03,zod-07      # a few
    python bench/breadth_check.py --summary                  # counts and format problems only

The reader re-opens every gold span, checks that it answers the question (and is the
smallest piece that does), and records what was verified in the question's ``checked``.
Exits 1 when a project file is malformed or a gold span is not in the corpus.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import breadth as BR  # noqa: E402
import breadth_fetch as F  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--projects-dir", type=Path, action="append", default=None)
    ap.add_argument("--projects", default="")
    ap.add_argument("--ids", default="")
    ap.add_argument("--cache", type=Path,
                    default=Path.home() / ".cache" / "contextpack-bench" / "breadth")
    ap.add_argument("--summary", action="store_true", help="counts and problems only")
    ap.add_argument("--max-lines", type=int, default=80, help="lines shown per span")
    args = ap.parse_args(argv)
    projects = BR.load_projects(args.projects_dir or [BENCH / "breadth" / "projects"])
    if args.projects:
        projects = [p for p in projects if p["name"] in set(args.projects.split(","))]
    ids = set(args.ids.split(",")) if args.ids else None
    problems = 0
    styles: Counter = Counter()
    for p in projects:
        bad = BR.check_project(p)
        for b in bad:
            print(f"FORMAT {p['name']}: {b}")
        problems += len(bad)
        root = F.fetch(p, args.cache)
        files = dict(BR.project_files(p, root))
        for q in p.get("questions") or []:
            styles[(q["language"], q["style"])] += 1
            miss = BR.gold_in_corpus(q, files)
            for m in miss:
                print(f"GOLD {q['id']}: {m}")
            problems += len(miss)
            if args.summary or (ids and q["id"] not in ids) or miss:
                continue
            print("=" * 100)
            print(f"{q['id']} [{q['style']}, {q['language']}, {q['budget']}]: {q['question']}")
            print(f"checked: {q.get('checked', '')}")
            for path, a, b in [sp for g in q["gold"] for sp in BR.alternatives(g)]:
                lines = files[path].split("\n")
                print(f"--- {path}:{a}-{b}")
                head = list(range(a, b + 1))
                if len(head) > args.max_lines:  # first lines, then the last three
                    head = head[: args.max_lines - 3] + [0] + head[-3:]
                for n in head:
                    print(f"{n:5d}  {lines[n - 1]}" if n else "  ...")
                if b < len(lines):  # the line after the span shows where it ends
                    print(f"(after) {lines[b]}")
    total = sum(styles.values())
    plain = sum(n for (_, s), n in styles.items() if s == "plain")
    print(f"\n{len(projects)} projects, {total} questions, {plain} plain")
    for lang in sorted({lg for lg, _ in styles}):
        print(f"  {lang:12s} plain {styles[(lang, 'plain')]:3d}  "
              f"identifier {styles[(lang, 'identifier')]:3d}")
    if problems:
        print(f"{problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
