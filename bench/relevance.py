#!/usr/bin/env python
"""Relevance benchmark: does a B-token pack contain the code the real fix changed?

SWE-bench Lite dev instances, each over the PyPI sdist of its repository with the gold
hunks reverted to the pre-fix state.  Compares baselines (BM25 over files, BM25 over
chunks, dense MiniLM over chunks) and the contextpack CLI on the same instances.
See bench/README.md.  This script does not import the contextpack package.

    nice -n 10 python bench/relevance.py                 # everything, all 4 packers
    python bench/relevance.py --limit 5 --packers bm25-files,bm25-chunks
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import corpus as C  # noqa: E402

ALL_PACKERS = ["bm25-files", "bm25-chunks", "dense", "contextpack"]
DEFAULT_BUDGETS = [8000, 32000, 128000]
log = C.log


class ContextpackRun(Protocol):
    """What running the contextpack CLI needs from a bench's arguments (this bench's
    RelevanceArgs, or breadth.py's)."""

    contextpack_args: str
    contextpack_timeout: int
    jobs: int


@dataclass(frozen=True, slots=True)
class RelevanceArgs:
    """The command line, parsed and checked: which instances, packers and budgets to
    run, where the data, the cache and the report are, and which stage to stop after."""

    data: Path
    cache: Path
    out: Path
    packers: tuple[str, ...]
    budgets: tuple[int, ...]
    limit: int | None
    repos: frozenset[str] | None
    instances: frozenset[str] | None
    all_instances: bool
    jobs: int
    dense_missing: str  # "embed" or "skip"
    contextpack_args: str
    contextpack_timeout: int
    fresh: tuple[str, ...]  # packers whose cached results are dropped
    carry_over: Path | None
    no_pip: bool
    only: str | None  # "fetch", "corpora", "embed", "report" or None (everything)

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace) -> RelevanceArgs:
        """From argparse's namespace: comma lists split, an unknown packer an exit."""
        packers = tuple(p for p in ns.packers.split(",") if p)
        for p in packers:
            if p not in ALL_PACKERS:
                sys.exit(f"unknown packer {p!r}; choose from {ALL_PACKERS}")
        return cls(
            data=ns.data,
            cache=ns.cache,
            out=ns.out,
            packers=packers,
            budgets=tuple(int(b) for b in ns.budgets.split(",") if b),
            limit=ns.limit,
            repos=frozenset(ns.repos.split(",")) if ns.repos else None,
            instances=frozenset(ns.instances.split(",")) if ns.instances else None,
            all_instances=ns.all_instances,
            jobs=ns.jobs,
            dense_missing=ns.dense_missing,
            contextpack_args=ns.contextpack_args,
            contextpack_timeout=ns.contextpack_timeout,
            fresh=tuple(p for p in ns.fresh.split(",") if p),
            carry_over=ns.carry_over,
            no_pip=ns.no_pip,
            only=ns.only,
        )


# ---------------------------------------------------------------- helpers
def file_hash(*paths: Path) -> str:
    h = hashlib.sha1()
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*.py")):
                if "__pycache__" not in f.parts:
                    h.update(str(f.relative_to(p)).encode())
                    h.update(f.read_bytes())
        elif p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def git_commit() -> str:
    try:
        r = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=C.REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if r.returncode == 0 and r.stdout.strip():
            dirty = subprocess.run(
                ["git", "status", "--porcelain"],
                cwd=C.REPO_DIR,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            return r.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except Exception:  # noqa: BLE001
        pass
    return "none (no commit yet)"


def load_goldlib(data_dir: Path):
    p = Path(data_dir) / "goldlib.py"
    if not p.exists():
        return None
    spec = importlib.util.spec_from_file_location("goldlib", p)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def contextpack_exe() -> str | None:
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    return shutil.which("contextpack", path=path)


def code_hash(*paths: Path) -> str:
    """Hash of Python sources as parsed (ast.dump): comments and formatting do not count."""
    import ast

    h = hashlib.sha1()
    for p in paths:
        h.update(p.name.encode())
        h.update(ast.dump(ast.parse(p.read_text(encoding="utf-8"))).encode())
    return h.hexdigest()[:12]


def fingerprint(packer: str, args: ContextpackRun) -> str:
    """Cache key part that changes when a packer's code or arguments change."""
    if packer == "contextpack":
        exe = contextpack_exe() or "missing"
        src = file_hash(C.REPO_DIR / "contextpack", C.REPO_DIR / "pyproject.toml")
        return hashlib.sha1(f"{src}|{args.contextpack_args}|{exe}".encode()).hexdigest()[:12]
    return code_hash(BENCH / "baselines.py", BENCH / "corpus.py")


# ---------------------------------------------------------------- result cache
class ResultCache:
    """Raw results per packer: <cache>/results/<packer>.jsonl, keyed by
    packer | fingerprint(code, args) | instance | budget (the last line for a key wins)."""

    def __init__(self, cache: Path, fresh: list[str]):
        self.dir = cache / "results"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.d: dict[str, dict] = {}
        for p in fresh:
            f = self.dir / f"{p}.jsonl"
            if f.exists():
                f.unlink()
                log(f"--fresh: dropped cached results of {p}")
        for f in self.dir.glob("*.jsonl"):
            for line in open(f, encoding="utf-8"):
                try:
                    r = json.loads(line)
                    self.d[r["key"]] = r
                except (ValueError, KeyError):
                    continue

    @staticmethod
    def key(packer, fp, iid, budget):
        return f"{packer}|{fp}|{iid}|{budget}"

    def get(self, k):
        return self.d.get(k)

    def put(self, rec):
        self.d[rec["key"]] = rec
        with open(self.dir / f"{rec['packer']}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")


# ---------------------------------------------------------------- contextpack
def check_contract(data: dict, budget: int) -> tuple[list, object, list[str]]:
    """Items ([path, start, end, view, tokens, kind, symbol]), tokens and the contract
    violations of a parsed `--format json` pack: budget field, token count re-counted
    with cl100k, views."""
    from baselines import count_tokens

    viol = []
    tokens = data.get("tokens")
    if data.get("budget") != budget:
        viol.append(f"budget field {data.get('budget')} != {budget}")
    if not isinstance(tokens, int) or tokens > budget:
        viol.append(f"tokens {tokens} > budget {budget}")
    ctx = data.get("context")
    if not isinstance(ctx, str):
        viol.append("no context string")
    else:
        n = count_tokens(ctx)
        if n != tokens:
            viol.append(f"context re-counts to {n} tokens, JSON says {tokens}")
        if n > budget:
            viol.append(f"context re-counts to {n} > budget {budget}")
    items = []
    for it in data.get("items") or []:
        try:
            items.append(
                [
                    it["path"],
                    int(it["start_line"]),
                    int(it["end_line"]),
                    it["view"],
                    it.get("tokens"),
                    it.get("kind"),
                    it.get("symbol"),
                ]
            )
            if it["view"] not in ("full", "skeleton", "mention"):
                viol.append(f"unknown view {it['view']!r}")
        except (KeyError, TypeError, ValueError) as e:
            viol.append(f"bad item {it!r:.120} ({e})")
    return items, tokens, viol


def run_contextpack(root: Path, query: str, budget: int, args: ContextpackRun,
                    cache: Path) -> dict:
    exe = contextpack_exe()
    if not exe:
        return {"error": "contextpack CLI not found on PATH (pip install -e . in the venv)"}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(query)
        qf = f.name
    cmd = [
        exe,
        "build",
        str(root),
        "--query-file",
        qf,
        "--budget",
        str(budget),
        "--format",
        "json",
        *shlex.split(args.contextpack_args or ""),
    ]
    env = dict(
        os.environ,
        CONTEXTPACK_CACHE_DIR=str(cache / "contextpack"),
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS=str(args.jobs),
        MKL_NUM_THREADS=str(args.jobs),
        TOKENIZERS_PARALLELISM="false",
    )
    data = run_json(cmd, env, args.contextpack_timeout, qf)
    if "error" in data:
        return data
    dt = data.pop("_seconds")
    items, tokens, viol = check_contract(data, budget)
    if viol:
        log(f"!!! CONTRACT VIOLATION contextpack {root.parent.name} @{budget}: {'; '.join(viol)}")
    return {
        "items": items,
        "tokens": tokens,
        "seconds": dt,
        "violations": viol,
        "stats": data.get("stats"),
        "encoding": data.get("encoding"),
    }


def run_json(cmd: list[str], env: dict, timeout: float, query_file: str) -> dict:
    """Run a packer that prints the JSON contract; its parsed output with ``_seconds``, or
    ``{"error", "seconds"}``. The query file is removed either way."""
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout}s", "seconds": time.time() - t0}
    finally:
        os.unlink(query_file)
    dt = time.time() - t0
    if r.returncode != 0:
        tail = " | ".join((r.stderr or r.stdout).strip().splitlines()[-4:])
        return {"error": f"exit {r.returncode}: {tail[:600]}", "seconds": dt}
    try:
        data = json.loads(r.stdout)
    except ValueError as e:
        return {"error": f"stdout is not JSON ({e}): {r.stdout[:200]!r}", "seconds": dt}
    if not isinstance(data, dict):
        return {"error": "stdout is not a JSON object", "seconds": dt}
    data["_seconds"] = dt
    return data


# ---------------------------------------------------------------- main
def parse_args(argv=None) -> RelevanceArgs:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=C.DEFAULT_DATA,
        help="folder with swebench_lite_dev.jsonl, goldlib.py, revert_gold_in_sdist.py "
        "(default: ../shared/bench next to the repo)",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=C.DEFAULT_CACHE,
        help="archives, unpacked sdists, corpora, embeddings, raw results "
        "(default ~/.cache/contextpack-bench)",
    )
    ap.add_argument("--out", type=Path, default=BENCH / "results", help="report folder")
    ap.add_argument(
        "--packers", default=",".join(ALL_PACKERS), help="comma list from " + ",".join(ALL_PACKERS)
    )
    ap.add_argument("--budgets", default=",".join(map(str, DEFAULT_BUDGETS)))
    ap.add_argument("--limit", type=int, default=None, help="first N selected instances")
    ap.add_argument("--repos", default=None, help="comma list, e.g. django/django,sympy/sympy")
    ap.add_argument("--instances", default=None, help="comma list of instance ids")
    ap.add_argument(
        "--all-instances",
        action="store_true",
        help="also run instances not marked sdist_revertible/gold_in_sdist",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="torch threads for the dense model (and OMP threads for contextpack)",
    )
    ap.add_argument(
        "--dense-missing",
        choices=["embed", "skip"],
        default="embed",
        help="dense packer: embed chunks that lack a cached embedding first (default), "
        "or skip those instances (use while --only embed runs elsewhere)",
    )
    ap.add_argument("--contextpack-args", default="", help="extra args for `contextpack build`")
    ap.add_argument("--contextpack-timeout", type=int, default=1800)
    ap.add_argument(
        "--fresh", default="", help="comma list of packers whose cached results are dropped"
    )
    ap.add_argument(
        "--carry-over",
        type=Path,
        default=None,
        metavar="RAW",
        help="relevance_raw.jsonl of an earlier run: baseline rows it scored fill the "
        "(instance, budget) pairs this run has no result for (contextpack is never carried)",
    )
    ap.add_argument(
        "--no-pip",
        action="store_true",
        help="fetch every sdist from the simple index (skip pip download)",
    )
    ap.add_argument(
        "--only",
        choices=["fetch", "corpora", "embed", "report"],
        default=None,
        help="stop after this stage (embed: dense precompute of every chunk of the "
        "selected corpora; report: rewrite the report from cached results)",
    )
    return RelevanceArgs.from_namespace(ap.parse_args(argv))


def select(rows, args: RelevanceArgs):
    chosen, skipped = [], []
    want_ids = args.instances
    want_repos = args.repos
    for r in rows:
        if want_ids is not None and r["instance_id"] not in want_ids:
            continue
        if want_repos is not None and r["repo"] not in want_repos:
            continue
        why = C.skip_reason(r)
        if why and not args.all_instances:
            skipped.append((r["instance_id"], why))
        else:
            chosen.append(r)
    if args.limit is not None:
        chosen = chosen[: args.limit]
    return chosen, skipped


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    cmdline = "python " + " ".join(
        shlex.quote(a)
        for a in [os.path.relpath(sys.argv[0], C.REPO_DIR)]
        + (argv if argv is not None else sys.argv[1:])
    )
    packers = list(args.packers)
    budgets = list(args.budgets)
    cache = args.cache.expanduser().resolve()
    data = args.data.resolve()
    rows = C.load_instances(data)
    chosen, skipped = select(rows, args)
    log(
        f"instances: {len(chosen)} selected, {len(skipped)} skipped "
        f"(not sdist_revertible / not gold_in_sdist)"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    timing = (
        json.loads((cache / "timing.json").read_text()) if (cache / "timing.json").exists() else {}
    )

    if args.only == "report":
        write_report(args, cmdline, packers, budgets, chosen, skipped, {}, cache, timing)
        return

    # ---- fetch
    t0 = time.time()
    fetched = C.fetch_all(chosen, cache, use_pip=not args.no_pip)
    dt = time.time() - t0
    if any(v.get("how") not in ("cached", None) for v in fetched.values()):
        timing["fetch_seconds"] = round(dt, 1)
    failed_fetch = {k: v["error"] for k, v in fetched.items() if "error" in v}
    log(f"fetch: {len(fetched) - len(failed_fetch)}/{len(fetched)} sdists ready in {dt:.0f}s")
    if args.only == "fetch":
        save_timing(cache, timing)
        return

    # ---- corpora
    t0 = time.time()
    corpora: dict[str, Path] = {}
    excluded: list[tuple[str, str]] = []
    built = 0
    for r in chosen:
        fn = r["sdist_filename"]
        if fn in failed_fetch:
            excluded.append((r["instance_id"], f"sdist not fetched: {failed_fetch[fn][:200]}"))
            continue
        try:
            pre = (cache / "corpora" / r["instance_id"] / "revert.json").exists()
            root, info = C.instance_corpus(r, Path(fetched[fn]["path"]), cache, data)
            built += not pre
        except Exception as e:  # noqa: BLE001
            excluded.append((r["instance_id"], f"corpus build failed: {e}"))
            continue
        if info["revert_rc"] != 0:
            excluded.append(
                (
                    r["instance_id"],
                    "revert script failed: " + info["revert_log"].replace("\n", " ")[:200],
                )
            )
            continue
        corpora[r["instance_id"]] = root
    dt = time.time() - t0
    if built:
        timing["corpora_seconds"] = round(dt, 1)
        timing["corpora_built"] = built
    log(f"corpora: {len(corpora)} ready ({built} built) in {dt:.0f}s; {len(excluded)} excluded")
    for iid, why in excluded:
        log(f"  excluded {iid}: {why}")
    save_timing(cache, timing)
    if args.only == "corpora":
        return
    run_rows = [r for r in chosen if r["instance_id"] in corpora]
    # group by sdist so per-file caches are reused
    run_rows.sort(key=lambda r: (r["repo"], r["sdist_filename"], r["instance_id"]))

    if args.only == "embed" or ("dense" in packers and args.dense_missing == "embed"):
        precompute_dense(run_rows, corpora, cache, args, timing)
        if args.only == "embed":
            return

    results = run_packers(run_rows, corpora, packers, budgets, cache, args)
    write_report(
        args,
        cmdline,
        packers,
        budgets,
        chosen,
        skipped + excluded,
        results,
        cache,
        timing,
        run_rows=run_rows,
        corpora=corpora,
        data=data,
    )
    log(f"done in {time.time() - t_start:.0f}s")


def save_timing(cache: Path, timing: dict):
    (cache / "timing.json").write_text(json.dumps(timing, indent=1))


# ---------------------------------------------------------------- dense precompute
def _tree_bytes(root: Path) -> int:
    n = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                n += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return n


def embed_order(run_rows, corpora):
    """Order instances so that a partial precompute covers as many instances as possible:
    sdists greedily by instances per estimated new chunk (size of the unpacked sdist; a later
    version of a repo already embedded is assumed to cost a third of its size, as most of
    its functions are unchanged), the instances of one sdist together."""
    by_sdist: dict[str, list] = defaultdict(list)
    for r in run_rows:
        by_sdist[r["sdist_filename"]].append(r)
    size = {fn: _tree_bytes(corpora[rs[0]["instance_id"]]) for fn, rs in by_sdist.items()}
    done_repos: set[str] = set()
    out = []
    left = dict(by_sdist)
    while left:

        def value(fn):
            rs = left[fn]
            cost = size[fn] * (0.33 if rs[0]["repo"] in done_repos else 1.0)
            return len(rs) / max(cost, 1)

        fn = max(left, key=value)
        out += left.pop(fn)
        done_repos.add(by_sdist[fn][0]["repo"])
    return out


def precompute_dense(run_rows, corpora, cache, args, timing):
    import baselines as B

    store = B.EmbeddingStore(cache / "embeddings.sqlite")
    fcache = B.FileCache(B.Vocab())
    model = None
    t0 = time.time()
    done = 0
    seen: set[str] = set()
    rows = embed_order(run_rows, corpora)
    for i, r in enumerate(rows):
        root = corpora[r["instance_id"]]
        todo = {}
        for path, text in C.iter_text_files(root):
            fi = fcache.get(path, text, terms=False)
            for k, t in B.chunk_embed_keys(fi):
                if k not in seen:
                    todo[k] = t
        seen.update(todo)
        missing = store.missing(list(todo))
        if not missing:
            continue
        if model is None:
            model = B.DenseModel(args.jobs)
        log(
            f"dense precompute [{i + 1}/{len(rows)}] {r['instance_id']}: "
            f"{len(missing)} chunks to embed"
        )
        missing.sort(key=lambda k: len(todo[k]))
        t1 = time.time()
        for j in range(0, len(missing), 1024):
            part = missing[j : j + 1024]
            vecs = model.encode([todo[k] for k in part])
            store.put_many(list(zip(part, vecs, strict=True)))
            done += len(part)
            if (j // 1024) % 10 == 9:
                rate = (j + len(part)) / (time.time() - t1)
                log(f"  {j + len(part)}/{len(missing)} ({rate:.0f} chunks/s)")
        dt1 = time.time() - t1
        # saved after each instance, so an interrupted precompute still reports its time
        timing["dense_precompute_seconds"] = round(
            timing.get("dense_precompute_seconds", 0) + dt1, 1
        )
        timing["dense_chunks_embedded"] = timing.get("dense_chunks_embedded", 0) + len(missing)
        timing["dense_unique_chunks"] = store.count()
        cur = (
            json.loads((cache / "timing.json").read_text())
            if (cache / "timing.json").exists()
            else {}
        )
        cur.update({k: v for k, v in timing.items() if k.startswith("dense_")})
        save_timing(cache, cur)
        log(f"  {len(missing)} chunks in {dt1:.0f}s ({len(missing) / max(dt1, 1e-9):.1f}/s)")
        # the other instances of this sdist share most chunks; forget texts we no longer need
        if len(fcache.d) > 60_000:
            fcache.d.clear()
    dt = time.time() - t0
    log(f"dense precompute: {done} chunks embedded in {dt:.0f}s; store holds {store.count()}")


# ---------------------------------------------------------------- packing
def run_packers(run_rows, corpora, packers, budgets, cache, args):
    rc = ResultCache(cache, list(args.fresh))
    fps = {p: fingerprint(p, args) for p in packers}
    carried = load_carried(args.carry_over, packers)
    out = []
    need_index = {"bm25-files", "bm25-chunks", "dense"}
    B = None
    if need_index & set(packers):
        import baselines as B  # noqa: N812

        vocab = B.Vocab()
        fcache = B.FileCache(vocab)
        counter = B.TokenCounter()
        store = B.EmbeddingStore(cache / "embeddings.sqlite") if "dense" in packers else None
        model = None
    not_run = defaultdict(list)
    for n, r in enumerate(run_rows, 1):
        iid = r["instance_id"]
        root = corpora[iid]
        todo = [
            (p, b)
            for p in packers
            for b in budgets
            if rc.get(ResultCache.key(p, fps[p], iid, b)) is None
        ]
        if todo:
            log(f"[{n}/{len(run_rows)}] {iid}: {len(todo)} packs to run")
        idx = None
        mat = None
        miss = 0
        for p, b in todo:
            rec = {
                "key": ResultCache.key(p, fps[p], iid, b),
                "packer": p,
                "instance_id": iid,
                "repo": r["repo"],
                "budget": b,
            }
            try:
                if p == "contextpack":
                    res = run_contextpack(root, r["problem_statement"], b, args, cache)
                    rec.update(res)
                else:
                    if idx is None:
                        idx = B.build_index(
                            root,
                            fcache,
                            C.iter_text_files,
                            want_bm25=any(q.startswith("bm25") for q, _ in todo),
                        )
                        rec_index_s = idx.build_seconds
                    t0 = time.time()
                    if p == "bm25-files":
                        items, used = B.pack_bm25_files(
                            idx, r["problem_statement"], b, vocab, counter
                        )
                    elif p == "bm25-chunks":
                        items, used = B.pack_bm25_chunks(
                            idx, r["problem_statement"], b, vocab, counter
                        )
                    else:
                        if mat is None:
                            mat, miss = B.corpus_matrix(idx, store)
                        if miss:
                            if args.dense_missing == "skip":
                                not_run[p].append(iid)
                                continue
                            raise RuntimeError(f"{miss} chunks lack embeddings")
                        if model is None:
                            model = B.DenseModel(args.jobs)
                        t0 = time.time()
                        qvec = model.encode([r["problem_statement"]])[0]
                        items, used = B.pack_dense(idx, qvec, mat, b, counter)
                    rec["seconds"] = time.time() - t0
                    rec["index_seconds"] = rec_index_s
                    rec["tokens"] = used
                    rec["items"] = [
                        [it["path"], it["start_line"], it["end_line"], "full", it["tokens"]]
                        for it in items
                    ]
                    if used > b:
                        rec["violations"] = [f"baseline used {used} > {b}"]
            except Exception as e:  # noqa: BLE001
                import traceback

                rec["error"] = f"{type(e).__name__}: {e}"
                log(f"ERROR {p} {iid} @{b}: {rec['error']}\n{traceback.format_exc(limit=3)}")
            rc.put(rec)
        for p in packers:
            for b in budgets:
                out.append(result_for(rc, fps, carried, p, iid, b))
    for p, ids in not_run.items():
        log(f"{p}: {len(set(ids))} instances not run (embeddings not precomputed yet)")
    return out


def load_carried(path: Path | None, packers) -> dict:
    """Baseline rows of an earlier run's relevance_raw.jsonl, by (packer, instance,
    budget), for pairs this run has no result for: the dense precompute takes hours on two
    cores, and its rows do not change with contextpack's code. contextpack rows are never
    carried: they are what a run measures."""
    if path is None:
        return {}
    out = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    meta = json.loads(lines[0]) if lines else {}
    src = f"{path.name} of commit {meta.get('commit')}, {meta.get('date')}"
    for line in lines[1:]:
        r = json.loads(line)
        if r.get("packer") not in packers or r["packer"] == "contextpack" or r.get("carried"):
            continue
        out[(r["packer"], r["instance_id"], r["budget"])] = {**r, "carried": src}
    log(f"--carry-over: {len(out)} baseline rows available from {src}")
    return out


def result_for(rc: ResultCache, fps: dict, carried: dict, packer, iid, budget):
    """This code's cached result for a pack, else an earlier run's carried row, else None."""
    return rc.get(ResultCache.key(packer, fps[packer], iid, budget)) or carried.get(
        (packer, iid, budget)
    )


# ---------------------------------------------------------------- report
def write_report(
    args: RelevanceArgs,
    cmdline: str,
    packers: list[str],
    budgets: list[int],
    chosen: list[dict],
    skipped: list[tuple[str, str]],
    results: list[dict | None],
    cache: Path,
    timing: dict,
    run_rows: list[dict] | None = None,
    corpora: dict[str, Path] | None = None,
    data: Path | None = None,
) -> None:
    """Hand this run's results (with --only report, the cached ones) to report.py."""
    import report as R

    if args.only == "report":
        results, run_rows, corpora, skipped = cached_results(
            args, packers, budgets, chosen, skipped, cache
        )
        data = args.data.resolve()
    assert run_rows is not None and corpora is not None and data is not None
    gl = load_goldlib(data)
    R.write_relevance_report(
        out=args.out,
        run={
            "commit": git_commit(),
            "command": cmdline,
            "data": str(data),
            "cache": str(cache),
            "contextpack_args": args.contextpack_args,
        },
        packers=packers,
        budgets=budgets,
        run_rows=run_rows,
        corpora=corpora,
        results=results,
        skipped=skipped,
        timing=timing,
        get_scopes=gl.get_scopes if gl else None,
        all_instances=args.all_instances,
    )


def cached_results(args: RelevanceArgs, packers, budgets, chosen, skipped, cache: Path):
    """For --only report: the cached (or carried) result of every pack of the instances
    whose corpus is built; the others join the skipped, with why."""
    rc = ResultCache(cache, [])
    fps = {p: fingerprint(p, args) for p in packers}
    carried = load_carried(args.carry_over, packers)
    results = []
    run_rows = []
    corpora = {}
    skipped = list(skipped)
    for r in chosen:
        root = C.corpus_root(r, cache)
        if root is None:
            info = cache / "corpora" / r["instance_id"] / "revert.json"
            why = "corpus not built"
            if info.exists():
                log_ = json.loads(info.read_text())["revert_log"].replace("\n", " ")
                why = "revert script failed: " + log_[:200]
            skipped.append((r["instance_id"], why))
            continue
        corpora[r["instance_id"]] = root
        run_rows.append(r)
        for p in packers:
            for b in budgets:
                results.append(result_for(rc, fps, carried, p, r["instance_id"], b))
    return results, run_rows, corpora, skipped


if __name__ == "__main__":
    main()
