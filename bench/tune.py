"""Fit contextpack's ranking and packing settings on the SWE-bench Lite dev set, in-process.

Where ``relevance.py`` runs each packer as a user would (the CLI, one process per pack),
this script opens each instance's index once and scores many settings against it, so a
grid of variants costs little more than one. It reports, per variant and budget, the
three metrics of ``relevance.py`` plus ranking diagnostics (where the gold function's best
chunk and the gold file rank).

    python bench/tune.py --variants bench/variants.py --limit 40
    python bench/tune.py --set file=0.8 --set dense=0.3          # one variant from flags

Variants file: a Python file defining ``VARIANTS = {name: {"weights": {...}, "pack": {...}}}``.
Results are cached per (instance, variant fingerprint) under the bench cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import corpus as C  # noqa: E402
import scoring as S  # noqa: E402

from contextpack.embed import get_embedder  # noqa: E402
from contextpack.index import IndexSettings, open_index  # noqa: E402
from contextpack.fit import PackOptions, fit  # noqa: E402
from contextpack.rank import Weights, rank  # noqa: E402
from contextpack.tokens import get_tokenizer  # noqa: E402

DEFAULT_DATA = HERE.parent.parent / "shared" / "bench"
DEFAULT_CACHE = Path(os.environ.get("CONTEXTPACK_BENCH_CACHE", Path.home() / ".cache" / "contextpack-bench"))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--repos", default="")
    ap.add_argument("--instances", default="")
    ap.add_argument("--budgets", default="8000,32000,128000")
    ap.add_argument("--variants", type=Path, help="Python file defining VARIANTS")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="weight or pack option for a single variant 'cli'")
    ap.add_argument("--embedder", default="static")
    ap.add_argument("--every", type=int, default=1, help="take every k-th instance (a spread slice)")
    ap.add_argument("--fresh", action="store_true", help="ignore cached results")
    ap.add_argument("--out", type=Path, help="write the summary as JSON here")
    return ap.parse_args(argv)


def load_variants(args) -> dict[str, dict]:
    if args.variants:
        ns: dict = {}
        exec(compile(args.variants.read_text(), str(args.variants), "exec"), ns)
        return ns["VARIANTS"]
    weights, pack = {}, {}
    for item in args.set:
        k, v = item.split("=", 1)
        target = weights if k in Weights.__dataclass_fields__ else pack
        target[k] = json.loads(v)
    return {"cli": {"weights": weights, "pack": pack}}


def fingerprint(variant: dict, embedder: str, budgets: list[int]) -> str:
    # the whole package: any module can change a pack (its layout moves as it grows)
    code = "".join(p.read_text() for p in sorted((HERE.parent / "contextpack").rglob("*.py")))
    blob = json.dumps([variant, embedder, budgets], sort_keys=True) + code
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def gold_rank_diagnostics(index, ranking, targets) -> dict:
    """Best rank of a chunk holding a gold def line, and rank of the gold file."""
    order = ranking.order()
    pos = {int(r): k for k, r in enumerate(order)}
    best_chunk = None
    for t in targets["functions"]:
        if "spans" not in t or t["file"] not in index.files_by_name.get(t["file"], [None]) and \
                t["file"] not in index.paths:
            continue
        f = index.paths.index(t["file"]) if t["file"] in index.paths else None
        if f is None:
            continue
        for i in index.chunks_of_file(f):
            for _, d, _ in t["spans"]:
                if index.starts[i] <= d <= index.ends[i]:
                    k = pos.get(i)
                    if k is not None and (best_chunk is None or k < best_chunk):
                        best_chunk = k
    file_best: dict[int, float] = {}
    for r in order[:20000]:
        f = int(index.chunk_file[r])
        if f not in file_best:
            file_best[f] = len(file_best)
    file_rank = None
    for g in targets["files"]:
        if g in index.paths:
            k = file_best.get(index.paths.index(g))
            if k is not None and (file_rank is None or k < file_rank):
                file_rank = k
    return {"chunk_rank": best_chunk, "file_rank": file_rank}


def main(argv=None) -> int:
    args = parse_args(argv)
    rows = C.load_instances(args.data)
    rows = [r for r in rows if C.skip_reason(r) is None]
    if args.repos:
        keep = set(args.repos.split(","))
        rows = [r for r in rows if r["repo"] in keep or r["repo"].split("/")[-1] in keep]
    if args.instances:
        keep = set(args.instances.split(","))
        rows = [r for r in rows if r["instance_id"] in keep]
    rows = rows[:: args.every]
    if args.limit:
        rows = rows[: args.limit]
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = load_variants(args)
    tok = get_tokenizer("cl100k_base")
    emb = get_embedder(args.embedder)
    store_dir = args.cache / "contextpack"
    results_dir = args.cache / "tune"
    results_dir.mkdir(parents=True, exist_ok=True)
    fps = {name: fingerprint(v, args.embedder, budgets) for name, v in variants.items()}
    per: dict[str, list[dict]] = defaultdict(list)
    t_start = time.time()
    for n, row in enumerate(rows, 1):
        iid = row["instance_id"]
        base = args.cache / "corpora" / iid
        roots = [p for p in base.iterdir() if p.is_dir()] if base.exists() else []
        if not roots:
            print(f"{iid}: no corpus (run bench/relevance.py once to build corpora)", file=sys.stderr)
            continue
        root = roots[0]
        todo = {}
        for name in variants:
            cached = results_dir / f"{iid}.{fps[name]}.json"
            if cached.exists() and not args.fresh:
                per[name].append(json.loads(cached.read_text()))
            else:
                todo[name] = cached
        if not todo:
            continue
        t0 = time.time()
        index = open_index(root, tok, emb, IndexSettings(cache_dir=str(store_dir), snapshot=False))
        t_index = time.time() - t0
        targets = S.gold_targets(row, root)
        for name, path in todo.items():
            v = variants[name]
            weights = Weights.from_mapping(v.get("weights", {}))
            popts = PackOptions(**v.get("pack", {}))
            t1 = time.time()
            ranking = rank(index, row["problem_statement"], emb, weights)
            t_rank = time.time() - t1
            rec = {"instance_id": iid, "repo": row["repo"], "index_s": t_index, "rank_s": t_rank,
                   **gold_rank_diagnostics(index, ranking, targets), "budgets": {}}
            for b in budgets:
                t2 = time.time()
                fitted = fit(index, ranking, tok, b, "markdown", row["problem_statement"], popts)
                items = [{"path": i.path, "start_line": i.start_line, "end_line": i.end_line,
                          "view": i.view} for i in fitted.items]
                sc = S.score_pack(items, targets)
                sc.pop("functions", None)
                sc["pack_s"] = time.time() - t2
                sc["tokens"] = fitted.header.tokens
                assert fitted.header.tokens <= b
                rec["budgets"][str(b)] = sc
            path.write_text(json.dumps(rec))
            per[name].append(rec)
        print(f"[{n}/{len(rows)}] {iid} index {t_index:.1f}s "
              f"({time.time() - t_start:.0f}s total)", file=sys.stderr)
    summary = summarize(per, budgets)
    print_summary(summary, budgets)
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))
    return 0


def summarize(per: dict[str, list[dict]], budgets: list[int]) -> dict:
    out = {}
    for name, recs in per.items():
        s: dict = {"n": len(recs)}
        for b in budgets:
            for m in S.METRICS:
                vals = [r["budgets"][str(b)][m] for r in recs if r["budgets"][str(b)].get(m) is not None]
                s[f"{m}@{b}"] = sum(vals) / len(vals) if vals else None
        ranks = [r["chunk_rank"] for r in recs]
        franks = [r["file_rank"] for r in recs]
        for k in (1, 10, 50, 200):
            s[f"chunk@{k}"] = sum(1 for x in ranks if x is not None and x < k) / max(len(ranks), 1)
        for k in (1, 5, 20, 100):
            s[f"file@{k}"] = sum(1 for x in franks if x is not None and x < k) / max(len(franks), 1)
        s["rank_s"] = statistics.median(r["rank_s"] for r in recs) if recs else None
        out[name] = s
    return out


def print_summary(summary: dict, budgets: list[int]) -> None:
    cols = [f"{m}@{b}" for b in budgets for m in ("file_recall", "func_body")] + \
           ["chunk@10", "chunk@50", "file@5", "file@20", "file@100"]
    short = {c: c.replace("file_recall", "file").replace("func_body", "body") for c in cols}
    print("variant".ljust(28) + "  n " + " ".join(short[c].rjust(11) for c in cols))
    for name, s in summary.items():
        vals = " ".join((f"{s[c]:.3f}" if s[c] is not None else "-").rjust(11) for c in cols)
        print(name.ljust(28) + f"{s['n']:>3} " + vals)


if __name__ == "__main__":
    raise SystemExit(main())
