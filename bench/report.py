"""The relevance bench's report: scored records from raw pack results, the notes and
metadata of a run, and the files written from them (relevance_raw.jsonl, the markdown
tables, the plot).  relevance.py runs the packers and hands their results here.  Can be
run alone to regenerate the tables and plot from the raw JSONL:

    python bench/report.py bench/results/relevance_raw.jsonl
"""

from __future__ import annotations

import datetime as _dt
import json
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import scoring as S
from corpus import log
from scoring import METRICS, mean

LABELS = {"file_recall": "file recall", "func_seen": "function seen", "func_body": "function body"}


def pct(x):
    return "—" if x is None else f"{100 * x:.1f}"


def _metric_values(recs, m):
    return [r["scores"].get(m) if r.get("scores") else None for r in recs]


def _packer_order(records, packers=None):
    seen = list(dict.fromkeys(r["packer"] for r in records))
    if packers:
        return [p for p in packers if p in seen] + [p for p in seen if p not in packers]
    return seen


def summarize(records, packers=None):
    """{(packer, budget): {metric: mean, n, n_<metric>, sec_median, sec_mean, tokens_mean,
    errors, violations}}"""
    by = defaultdict(list)
    for r in records:
        by[(r["packer"], r["budget"])].append(r)
    out = {}
    for key, recs in by.items():
        d = {"n": len(recs)}
        for m in METRICS:
            d[m] = mean(_metric_values(recs, m))
            d["n_" + m] = sum(v is not None for v in _metric_values(recs, m))
        secs = [r["seconds"] for r in recs if r.get("seconds") is not None and not r.get("error")]
        d["sec_median"] = statistics.median(secs) if secs else None
        d["sec_mean"] = statistics.mean(secs) if secs else None
        toks = [r.get("tokens") or 0 for r in recs if not r.get("error")]
        d["tokens_mean"] = statistics.mean(toks) if toks else None
        d["errors"] = sum(1 for r in recs if r.get("error"))
        d["violations"] = sum(1 for r in recs if r.get("violations"))
        out[key] = d
    return out


def markdown(records, meta: dict, packers=None) -> str:
    packers = _packer_order(records, packers)
    budgets = sorted({r["budget"] for r in records})
    L = []
    L.append("# Relevance benchmark: SWE-bench Lite dev (reverted sdists)\n")
    for k in ("date", "commit", "command", "data", "instances_note", "timing_note",
              "carried_note"):
        if meta.get(k):
            v = meta[k]
            L.append(f"- **{k.replace('_', ' ')}**: " + (f"`{v}`" if k == "command" else str(v)))
    L.append("")
    L.append(
        "Metrics (percent, averaged over instances): **FR** file recall, **FS** function "
        "seen, **FB** function body; see `bench/README.md`. A failed pack scores 0. "
        "Seconds are per pack (for the baselines: ranking + filling, their index build "
        "is reported separately; for contextpack: the whole CLI subprocess).\n"
    )
    L.append("## Overall\n")
    L += overall_table(records, packers, budgets)
    ids = {p: {r["instance_id"] for r in records if r["packer"] == p} for p in packers}
    common = set.intersection(*ids.values()) if ids else set()
    if any(v != common for v in ids.values()):
        L.append(f"## Common instances only ({len(common)} instances that every packer ran)\n")
        allids = set.union(*ids.values())
        short = ", ".join(
            f"{p} ran {len(v)} of {len(allids)}" for p, v in ids.items() if v != allids
        )
        L.append(
            f"Packers with fewer instances: {short} (e.g. dense embeddings not yet "
            "precomputed, `--dense-missing skip`).\n"
        )
        L += overall_table([r for r in records if r["instance_id"] in common], packers, budgets)
    L.append("")
    tuned = tuning_slice(meta.get("data"))
    if tuned:
        L += tuned_vs_held_out(records, packers, budgets, tuned)
    repos = sorted({r["repo"] for r in records})
    L.append("## Per repository\n")
    L.append("Cells: FR / FS / FB.\n")
    for b in budgets:
        L.append(f"### Budget {b}\n")
        L.append("| repo | n | " + " | ".join(packers) + " |")
        L.append("|---|---:|" + "---:|" * len(packers))
        for repo in repos + ["**overall**"]:
            sub = [
                r
                for r in records
                if r["budget"] == b and (repo == "**overall**" or r["repo"] == repo)
            ]
            n = len({r["instance_id"] for r in sub})
            cells = []
            for p in packers:
                recs = [r for r in sub if r["packer"] == p]
                if not recs:
                    cells.append("—")
                    continue
                cells.append(" / ".join(pct(mean(_metric_values(recs, m))) for m in METRICS))
            L.append(f"| {repo} | {n} | " + " | ".join(cells) + " |")
        L.append("")
    errs = [r for r in records if r.get("error")]
    viol = [r for r in records if r.get("violations")]
    if viol:
        L.append("## CONTRACT VIOLATIONS\n")
        for r in viol[:50]:
            L.append(
                f"- {r['packer']} {r['instance_id']} @{r['budget']}: {'; '.join(r['violations'])}"
            )
        if len(viol) > 50:
            L.append(f"- ... {len(viol) - 50} more")
        L.append("")
    if errs:
        L.append("## Errors\n")
        by = defaultdict(list)
        for r in errs:
            by[(r["packer"], r["error"][:160])].append(f"{r['instance_id']}@{r['budget']}")
        for (p, e), ids in list(by.items())[:30]:
            L.append(f"- {p} ({len(ids)}x, e.g. {ids[0]}): {e}")
        L.append("")
    if meta.get("extra"):
        L.append(meta["extra"])
    return "\n".join(L) + "\n"


def tuning_slice(data) -> set[str]:
    """The instances contextpack's defaults were fitted on: every third of the usable dev
    instances, in file order (what ``tune.py --every 3`` reads)."""
    if not data or not (Path(data) / "swebench_lite_dev.jsonl").exists():
        return set()
    import corpus as C

    rows = [r for r in C.load_instances(Path(data)) if C.skip_reason(r) is None]
    return {r["instance_id"] for r in rows[::3]}


def tuned_vs_held_out(records, packers, budgets, tuned: set[str]) -> list[str]:
    """The same table on the tuning slice and on the instances tuning never looked at."""
    L = ["## Tuning slice and held-out instances\n",
         "contextpack's ranking defaults were fitted with `bench/tune.py --every 3` on every "
         "third usable dev instance; the held-out rows are the other two thirds, never looked "
         "at while tuning. The baselines have no knobs fitted; they are shown on the same "
         "split for comparison.\n"]
    for name, keep in (("tuning slice", True), ("held out", False)):
        sub = [r for r in records if (r["instance_id"] in tuned) == keep]
        n = len({r["instance_id"] for r in sub})
        L.append(f"### {name} ({n} instances)\n")
        L += overall_table(sub, packers, budgets)
    return L


def overall_table(records, packers, budgets):
    summ = summarize(records, packers)
    L = [
        "| packer | budget | FR | FS | FB | n (with fn targets) | mean tokens | s/pack median | "
        "s/pack mean | errors | contract violations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in packers:
        for b in budgets:
            d = summ.get((p, b))
            if not d:
                continue
            L.append(
                f"| {p} | {b} | {pct(d['file_recall'])} | {pct(d['func_seen'])} | "
                f"{pct(d['func_body'])} | {d['n']} ({d['n_func_seen']}) | "
                f"{d['tokens_mean'] or 0:.0f} | "
                f"{_sec(d['sec_median'])} | {_sec(d['sec_mean'])} | {d['errors']} | "
                f"{d['violations']} |"
            )
    L.append("")
    return L


def _sec(x):
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def _plot_if_possible(records, out_png: Path, packers=None):
    try:
        plot(records, out_png, packers)
    except ImportError:  # matplotlib comes with the `bench` extra
        log("matplotlib missing (pip install -e '.[bench]'): no relevance.png")


def plot(records, out_png: Path, packers=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    packers = _packer_order(records, packers)
    budgets = sorted({r["budget"] for r in records})
    summ = summarize(records, packers)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    for ax, m in zip(axes, METRICS, strict=True):
        for p in packers:
            xs = [b for b in budgets if (p, b) in summ and summ[(p, b)][m] is not None]
            ys = [100 * summ[(p, b)][m] for b in xs]
            if xs:
                n_p = summ[(p, xs[0])]["n"]
                ax.plot(xs, ys, marker="o", label=f"{p} (n={n_p})")
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets)
        ax.set_xticklabels([f"{b // 1000}k" for b in budgets])
        ax.set_title(LABELS[m])
        ax.set_xlabel("budget (cl100k tokens)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean over instances (%)")
    axes[0].set_ylim(0, 100)
    axes[-1].legend(loc="lower right", fontsize=8)
    n = len({r["instance_id"] for r in records})
    fig.suptitle(f"contextpack relevance bench: SWE-bench Lite dev, {n} instances")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- a run's report
def write_relevance_report(
    *,
    out: Path,
    run: dict,
    packers: Sequence[str],
    budgets: Sequence[int],
    run_rows: list[dict],
    corpora: dict[str, Path],
    results: list[dict | None],
    skipped: list[tuple[str, str]],
    timing: dict,
    get_scopes: Callable | None,
    all_instances: bool,
) -> None:
    """Score ``results`` against each instance's gold targets and write
    relevance_raw.jsonl, relevance.md and relevance.png to ``out``; log the summary.

    ``run`` describes the run for the metadata line: commit, command, data, cache and
    contextpack_args.
    """
    targets, problems, module_dropped, module_only, n_funcs = gold_targets(
        run_rows, corpora, get_scopes
    )
    records = score_records(results, targets)
    inst_note = instances_note(
        len(run_rows), skipped, all_instances, n_funcs, module_dropped, module_only, problems
    )
    meta = {
        "type": "meta",
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "commit": run["commit"],
        "command": run["command"],
        "data": run["data"],
        "packers": packers,
        "budgets": budgets,
        "instances_note": inst_note,
        "timing_note": timing_note(timing, records),
        "cache": run["cache"],
        "contextpack_args": run["contextpack_args"],
    }
    note = carried_note(records)
    if note:
        meta["carried_note"] = note
    meta["extra"] = extra_sections(skipped, problems, module_only)
    raw = out / "relevance_raw.jsonl"
    with open(raw, "w", encoding="utf-8") as f:
        f.write(json.dumps(meta) + "\n")
        for rr in records:
            f.write(json.dumps(rr) + "\n")
    (out / "relevance.md").write_text(markdown(records, meta, packers))
    _plot_if_possible(records, out / "relevance.png", packers)
    log(f"wrote {out / 'relevance.md'}, relevance.png, {raw.name}")
    summ = summarize(records, packers)
    for p in packers:
        for b in budgets:
            d = summ.get((p, b))
            if d:
                log(
                    f"  {p:12s} {b:>6}: FR {pct(d['file_recall'])}  FS {pct(d['func_seen'])}  "
                    f"FB {pct(d['func_body'])}  errors {d['errors']}  "
                    f"violations {d['violations']}"
                )


def gold_targets(run_rows, corpora, get_scopes):
    """Each instance's gold files and functions, located in its corpus; with the
    problems met, the `<module>` entries dropped, the module-only instances and the
    number of functions located."""
    targets = {}
    problems = []
    module_dropped = 0
    module_only = []
    n_funcs = 0
    for r in run_rows:
        t = S.gold_targets(r, corpora[r["instance_id"]], get_scopes)
        targets[r["instance_id"]] = t
        module_dropped += t["module_dropped"]
        n_funcs += len(t["functions"])
        if t["module_only"]:
            module_only.append(r["instance_id"])
        for p in t["problems"]:
            problems.append(f"{r['instance_id']}: {p}")
    return targets, problems, module_dropped, module_only, n_funcs


def score_records(results, targets) -> list[dict]:
    """One scored record per raw result (a failed pack scores zero where there are
    targets; a carried row keeps the scores an earlier run gave it)."""
    records = []
    for rec in results:
        if rec is None:
            continue
        t = targets[rec["instance_id"]]
        if rec.get("carried"):
            sc = dict(rec["scores"])
        elif rec.get("error"):
            sc = {
                "file_recall": 0.0 if t["files"] else None,
                "func_seen": 0.0 if t["functions"] else None,
                "func_body": 0.0 if t["functions"] else None,
            }
        else:
            items = [
                {"path": it[0], "start_line": it[1], "end_line": it[2], "view": it[3]}
                for it in rec.get("items", [])
            ]
            sc = S.score_pack(items, t)
            sc.pop("functions", None)
        records.append(
            {
                "packer": rec["packer"],
                "instance_id": rec["instance_id"],
                "repo": rec["repo"],
                "budget": rec["budget"],
                "scores": sc,
                "seconds": _r4(rec.get("seconds")),
                "index_seconds": _r4(rec.get("index_seconds")),
                "tokens": rec.get("tokens"),
                "n_items": rec["n_items"] if rec.get("carried") else len(rec.get("items") or []),
                "error": rec.get("error"),
                "violations": rec.get("violations") or [],
                "key": rec["key"],
                **({"carried": rec["carried"]} if rec.get("carried") else {}),
            }
        )
    return records


def _r4(x):
    return None if x is None else round(float(x), 4)


def instances_note(n_used, skipped, all_instances, n_funcs, module_dropped, module_only,
                   problems) -> str:
    by_reason = defaultdict(list)
    for iid, why in skipped:
        cat = why.split(":")[0] if why.startswith("revert script failed") else why.split(" (")[0]
        by_reason[cat].append(iid)
    return (
        f"{n_used} instances used (sdist_revertible and gold_in_sdist"
        f"{'' if not all_instances else ', --all-instances'}); "
        f"{len(skipped)} skipped: "
        + "; ".join(f"{k}: {len(v)}" for k, v in by_reason.items())
        + f". Function targets: {n_funcs} located; {module_dropped} `<module>` entries left "
        f"out of function metrics; module-only instances scored on changed lines: "
        f"{len(module_only)}; unlocated: {len(problems)}."
    )


def timing_note(timing: dict, records) -> str | None:
    tn = []
    if timing.get("fetch_seconds") is not None:
        tn.append(f"sdist fetch {timing['fetch_seconds']:.0f}s")
    if timing.get("corpora_seconds") is not None:
        tn.append(
            f"corpus build {timing['corpora_seconds']:.0f}s ({timing.get('corpora_built')} corpora)"
        )
    if timing.get("dense_precompute_seconds") is not None:
        tn.append(
            f"dense precompute {timing['dense_precompute_seconds']:.0f}s for "
            f"{timing.get('dense_chunks_embedded')} chunks "
            f"({timing.get('dense_unique_chunks')} unique chunks stored)"
        )
    idx_s = [rr["index_seconds"] for rr in records if rr.get("index_seconds")]
    if idx_s:
        tn.append(
            f"baseline index build (BM25 + chunking, warm file cache) median "
            f"{statistics.median(idx_s):.1f}s per corpus"
        )
    return "; ".join(tn) or None


def carried_note(records) -> str | None:
    n_carried = Counter(rr["packer"] for rr in records if rr.get("carried"))
    if not n_carried:
        return None
    src = next(rr["carried"] for rr in records if rr.get("carried"))
    return (
        "; ".join(f"{p}: {n} rows" for p, n in sorted(n_carried.items()))
        + f" carried over as scored by an earlier run ({src}), not rerun here"
    )


def extra_sections(skipped, problems, module_only) -> str:
    extra = []
    if skipped:
        extra.append("## Skipped instances\n")
        for iid, why in skipped:
            extra.append(f"- {iid}: {why}")
        extra.append("")
    if problems:
        extra.append("## Gold functions not located\n")
        extra += [f"- {p}" for p in problems] + [""]
    if module_only:
        extra.append(
            "Module-only gold instances (scored on module-level changed lines): "
            + ", ".join(module_only)
            + "\n"
        )
    return "\n".join(extra)


def main(argv=None):
    argv = argv or sys.argv[1:]
    raw = Path(argv[0]) if argv else Path(__file__).parent / "results" / "relevance_raw.jsonl"
    records, meta = [], {}
    for line in open(raw, encoding="utf-8"):
        r = json.loads(line)
        if r.get("type") == "meta":
            meta = r
        else:
            records.append(r)
    out = raw.parent
    (out / "relevance.md").write_text(markdown(records, meta, meta.get("packers")))
    _plot_if_possible(records, out / "relevance.png", meta.get("packers"))
    print(out / "relevance.md")


if __name__ == "__main__":
    main()
