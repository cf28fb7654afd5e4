#!/usr/bin/env python
"""Breadth benchmark: hand-written questions over real packages in every claimed language.

Each project (``bench/breadth/projects/<name>.json``) names a pinned package (npm tarball,
PyPI sdist, Debian source package or a local folder), its corpus kind (code, prose or
documents), its split (tune / heldout) and questions with gold line spans.  For every
question and packer the pack is scored on the gold spans:

* gold-in-full -- share of the gold spans at least half covered by full-view items;
* gold-seen    -- share of the gold spans whose first line lies in a full or skeleton item;
* file found   -- share of the gold files with a full or skeleton item from them.

Packers: ``contextpack`` (the CLI's JSON contract; for ``documents`` projects the Python
API, ``contextpack.pack(query, [Document(text, id=path)...])``), ``bm25-chunks`` and
``dense`` (MiniLM over chunks), the baselines of ``bench/baselines.py``; scoring is
``bench/scoring.py``'s.  See bench/README.md.

    nice -n 10 python bench/breadth.py
    python bench/breadth.py --projects httpx,zod --packers contextpack,bm25-chunks --limit 3
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import breadth_fetch as F  # noqa: E402
import corpus as C  # noqa: E402
import relevance as RV  # noqa: E402
import scoring as S  # noqa: E402

PACKERS = ["contextpack", "bm25-chunks", "dense"]
KINDS = ("code", "prose", "documents")
# dev: projects added for development work after the halves were set (ranking work may look
# at them; they are reported on their own, never folded into either half).
SPLITS = ("tune", "heldout", "dev")
STYLES = ("plain", "identifier")
MIN_BUDGET, MAX_BUDGET = 3000, 16000
# Dense re-ranks only BM25's best chunks for the question: MiniLM embeds ~20 chunks/s on a free
# core and a few per second on the shared 2-core machine, too slow for whole packages.
DENSE_CHUNKS = 50
DEBIAN_LAYOUT = "no .pc"  # how Debian trees are unpacked; part of their packs' cache key
METRICS = ("gold_full", "gold_seen", "file_found", "text_full", "strict_full")
LABELS = {"gold_full": "gold-in-full", "gold_seen": "gold-seen", "file_found": "file found",
          "text_full": "answer text in full", "strict_full": "gold-in-full without alternatives"}
TEXT_MIN_CHARS = 8  # lines shorter than this (braces, `return;`) say nothing about a copy
log = C.log


# ---------------------------------------------------------------- projects
def load_projects(dirs: list[Path]) -> list[dict]:
    """Every ``*.json`` project of the folders, by name (a later folder's project of the
    same name wins)."""
    by_name: dict[str, dict] = {}
    for d in dirs:
        for f in sorted(Path(d).glob("*.json")):
            p = json.loads(f.read_text(encoding="utf-8"))
            p["_file"] = str(f)
            by_name[p["name"]] = p
    return [by_name[n] for n in sorted(by_name)]


def check_project(p: dict) -> list[str]:
    """Format problems of a project file (empty when it is well formed)."""
    bad = []
    src = p.get("source") or {}
    if src.get("kind") not in ("npm", "pypi", "debian", "local"):
        bad.append(f"source.kind {src.get('kind')!r}")
    elif src["kind"] == "local" and not src.get("path"):
        bad.append("local source without path")
    elif src["kind"] != "local" and not (src.get("package") and src.get("version")):
        bad.append("source without package/version")
    if p.get("kind") not in KINDS:
        bad.append(f"kind {p.get('kind')!r}")
    if p.get("split") not in SPLITS:
        bad.append(f"split {p.get('split')!r}")
    ids = set()
    for q in p.get("questions") or []:
        qid = q.get("id")
        if qid in ids:
            bad.append(f"duplicate id {qid}")
        ids.add(qid)
        if q.get("style") not in STYLES:
            bad.append(f"{qid}: style {q.get('style')!r}")
        if not (MIN_BUDGET <= int(q.get("budget", 0)) <= MAX_BUDGET):
            bad.append(f"{qid}: budget {q.get('budget')}")
        gold = q.get("gold") or []
        if not 1 <= len(gold) <= 2:
            bad.append(f"{qid}: {len(gold)} gold spans")
        for g in gold:
            for path, a, b in alternatives(g):
                if not (path and 1 <= a <= b):
                    bad.append(f"{qid}: bad span {path}:{a}-{b}")
        if not q.get("question") or not q.get("language"):
            bad.append(f"{qid}: no question or language")
    return bad


def questions(projects: list[dict], args) -> list[tuple[dict, dict]]:
    out = []
    for p in projects:
        qs = p.get("questions") or []
        if args.limit:
            qs = qs[: args.limit]
        out += [(p, q) for q in qs]
    return out


def doc_suffixes(p: dict) -> tuple[str, ...]:
    return tuple(p.get("suffixes") or ())


def project_files(p: dict, root: Path) -> list[tuple[str, str]]:
    """(path, text) of the files a packer sees: every text file under the root, or for a
    documents project those with one of its ``suffixes`` (all text files when none)."""
    files = list(C.iter_text_files(root))
    suf = doc_suffixes(p)
    if p["kind"] == "documents" and suf:
        files = [(path, t) for path, t in files if path.endswith(suf)]
    return files


# ---------------------------------------------------------------- scoring
def span_targets(path: str, a: int, b: int) -> dict:
    """One span as scoring.py targets: the span's first line plays the def line."""
    return {"files": [path],
            "functions": [{"file": path, "qualname": f"{path}:{a}-{b}", "spans": [[a, a, b]]}]}


def alternatives(g: dict) -> list[tuple[str, int, int]]:
    """A gold span and the spans that answer the question as well (``alt``: e.g. the API doc
    comment that states what the implementation does)."""
    return [(x["path"], int(x["start"]), int(x["end"])) for x in [g, *(g.get("alt") or [])]]


def _text_lines(lines: list[str]) -> set[str]:
    return {x.strip() for x in lines if len(x.strip()) >= TEXT_MIN_CHARS}


def text_in_full(items: list, q: dict, files: dict[str, str]) -> float | None:
    """Share of gold spans at least half of whose telling lines (stripped, 8+ characters)
    appear in full-view items of ANY file: a copy of the answer (a dist/ bundle, a compiled
    twin) counts, where gold-in-full wants the span itself."""
    if not files:
        return None
    split = {}

    def lines_of(path):
        if path not in split:
            split[path] = files.get(path, "").split("\n")
        return split[path]

    packed: set[str] = set()
    for i in items:
        if i[3] == "full" and i[0] in files:
            packed |= _text_lines(lines_of(i[0])[int(i[1]) - 1 : int(i[2])])
    hits = []
    for g in q["gold"]:
        hit = False
        for path, a, b in alternatives(g):
            want = _text_lines(lines_of(path)[a - 1 : b])
            hit = hit or (bool(want) and 2 * len(want & packed) >= len(want))
        hits.append(hit)
    return sum(hits) / len(hits)


def score(items: list, q: dict, files: dict[str, str] | None = None) -> dict:
    """gold-in-full, gold-seen and file found: each gold span counts when it or one of its
    alternatives is met (scoring.py's function body / function seen / file recall on it);
    ``strict_full`` is gold-in-full without the alternatives."""
    packed = [{"path": i[0], "start_line": i[1], "end_line": i[2], "view": i[3]} for i in items]
    full, seen, found, strict = [], [], [], []
    for g in q["gold"]:
        per = [S.score_pack(packed, span_targets(*alt)) for alt in alternatives(g)]
        full.append(max(x["func_body"] for x in per))
        seen.append(max(x["func_seen"] for x in per))
        found.append(max(x["file_recall"] for x in per))
        strict.append(per[0]["func_body"])
    n = len(q["gold"])
    return {"gold_full": sum(full) / n, "gold_seen": sum(seen) / n, "file_found": sum(found) / n,
            "text_full": text_in_full(items, q, files or {}), "strict_full": sum(strict) / n}


def gold_in_corpus(q: dict, files: dict[str, str]) -> list[str]:
    """Gold spans that do not exist in the corpus (missing path, lines past the end)."""
    bad = []
    for g in q["gold"]:
        for path, _, end in alternatives(g):
            text = files.get(path)
            if text is None:
                bad.append(f"{path}: not in corpus")
            elif end > len(text.split("\n")):
                bad.append(f"{path}:{end}: past the end")
    return bad


# ---------------------------------------------------------------- packers
API_PACK = r"""
import json, sys
import contextpack
docs_file, budget, query_file, cache_dir = sys.argv[1:5]
docs = [contextpack.Document(text, id=path)
        for path, text in json.load(open(docs_file, encoding="utf-8"))]
query = open(query_file, encoding="utf-8").read()
pack = contextpack.pack(query, docs, budget=int(budget), format="json", cache_dir=cache_dir)
sys.stdout.write(pack.text)
"""


def run_api(docs_file: Path, query: str, budget: int, args, cache: Path) -> dict:
    """contextpack's Python API over in-memory documents, in a subprocess (the same
    isolation and contract check as the CLI)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(query)
        qf = f.name
    cmd = [sys.executable, "-c", API_PACK, str(docs_file), str(budget), qf,
           str(cache / "contextpack")]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(args.jobs),
               TOKENIZERS_PARALLELISM="false")
    data = RV.run_json(cmd, env, args.contextpack_timeout, qf)
    if "error" in data:
        return data
    dt = data.pop("_seconds")
    items, tokens, viol = RV.check_contract(data, budget)
    return {"items": items, "tokens": tokens, "seconds": dt, "violations": viol}


class Baselines:
    """BM25 and dense over one project's chunks (index built once per project)."""

    def __init__(self, cache: Path, jobs: int):
        import baselines as B

        self.B = B
        self.vocab = B.Vocab()
        self.fcache = B.FileCache(self.vocab)
        self.counter = B.TokenCounter()
        self.cache = cache
        self.jobs = jobs
        self.store = None
        self.model = None
        self.idx: dict[str, object] = {}

    def index(self, name: str, files: list[tuple[str, str]]):
        if name not in self.idx:
            self.idx = {name: self.B.build_index("", self.fcache, lambda _root: iter(files))}
        return self.idx[name]

    def bm25(self, idx, query: str, budget: int):
        return self.B.pack_bm25_chunks(idx, query, budget, self.vocab, self.counter)

    def dense(self, idx, query: str, budget: int):
        """MiniLM over the DENSE_CHUNKS chunks BM25 ranks highest (a re-ranker: the candidates
        are BM25's, their order is the cosine's)."""
        B = self.B
        if self.model is None:
            self.store = B.EmbeddingStore(self.cache / "embeddings.sqlite")
            self.model = B.DenseModel(self.jobs)
        s = idx.bm25_chunks.scores(self.vocab.encode(B.text_terms(query), add=False))
        top = [int(k) for k in B._ranked(s, DENSE_CHUNKS) if s[k] > 0]
        files, cf, ci = [], [], []
        where: dict[int, int] = {}
        for k in top:
            f = int(idx.chunk_file[k])
            if f not in where:
                where[f] = len(files)
                files.append(idx.files[f])
            cf.append(where[f])
            ci.append(int(idx.chunk_idx[k]))
        keys = []
        for f, j in zip(cf, ci, strict=True):
            fi = files[f]
            keys.append(B.chunk_embed_keys(fi)[j])
        missing = set(self.store.missing([k for k, _ in keys]))
        todo = list({k: t for k, t in keys if k in missing}.items())
        if todo:
            vecs = self.model.encode([t for _, t in todo])
            self.store.put_many([(k, v) for (k, _), v in zip(todo, vecs, strict=True)])
        got = self.store.get_many([k for k, _ in keys])
        mat = B.np.array([got[k] for k, _ in keys], B.np.float32).reshape(len(keys), -1)
        sub = B.CorpusIndex(idx.root, files, B.np.array(cf, B.np.int32),
                            B.np.array(ci, B.np.int32))
        qvec = self.model.encode([query])[0]
        return B.pack_dense(sub, qvec, mat, budget, self.counter)


def question_key(p: dict, q: dict) -> str:
    """The question's id plus a hash of what its pack depends on (text, budget, source)."""
    layout = [DEBIAN_LAYOUT] if p["source"]["kind"] == "debian" else []
    h = hashlib.sha1(
        json.dumps([q["question"], q["budget"], p["source"], p.get("subdir", ""), p["kind"],
                    doc_suffixes(p), *layout], sort_keys=True).encode()
    ).hexdigest()[:10]
    return f"{q['id']}#{h}"


def fingerprints(packers, args) -> dict[str, str]:
    fps = {}
    for pk in packers:
        if pk == "contextpack":
            fps[pk] = RV.fingerprint("contextpack", args)
        else:
            base = RV.fingerprint("bm25-chunks", args)
            extra = f"rerank{DENSE_CHUNKS}" if pk == "dense" else ""
            fps[pk] = hashlib.sha1(f"{base}|{extra}".encode()).hexdigest()[:12]
    return fps


def run(projects: list[dict], args) -> list[dict]:
    cache = args.cache
    rc = RV.ResultCache(cache, [x for x in args.fresh.split(",") if x])
    fps = fingerprints(args.packers, args)
    base = None
    records = []
    not_run: dict[str, int] = defaultdict(int)
    for p in projects:
        qs = questions([p], args)
        if not qs:
            continue
        t0 = time.time()
        root = F.fetch(p, cache)
        files = project_files(p, root)
        by_path = dict(files)
        log(f"{p['name']}: {len(files)} files at {root} ({time.time() - t0:.0f}s)")
        docs_file = None
        if p["kind"] == "documents":
            docs_file = cache / "documents" / f"{p['name']}.json"
            docs_file.parent.mkdir(parents=True, exist_ok=True)
            docs_file.write_text(json.dumps(files), encoding="utf-8")
        for _, q in qs:
            bad = gold_in_corpus(q, by_path)
            if bad:
                log(f"!!! {q['id']}: gold not in corpus: {'; '.join(bad)}")
            qkey = question_key(p, q)
            for pk in args.packers:
                key = RV.ResultCache.key(pk, fps[pk], qkey, q["budget"])
                rec = rc.get(key)
                if rec is None and pk in args.cached_only:
                    not_run[pk] += 1
                    continue
                if rec is None:
                    rec = {"key": key, "packer": pk, "instance_id": qkey,
                           "budget": q["budget"]}
                    try:
                        if pk == "contextpack":
                            if docs_file is not None:
                                res = run_api(docs_file, q["question"], q["budget"], args, cache)
                            else:
                                res = RV.run_contextpack(root, q["question"], q["budget"], args,
                                                         cache)
                            rec.update(res)
                        else:
                            if base is None:
                                import baselines  # noqa: F401 - fail early without numpy

                                base = Baselines(cache, args.jobs)
                            idx = base.index(p["name"], files)
                            t1 = time.time()
                            fn = base.bm25 if pk == "bm25-chunks" else base.dense
                            its, used = fn(idx, q["question"], q["budget"])
                            rec["seconds"] = time.time() - t1
                            rec["tokens"] = used
                            rec["items"] = [[i["path"], i["start_line"], i["end_line"], "full",
                                             i["tokens"]] for i in its]
                            rec["violations"] = ([f"baseline used {used} > {q['budget']}"]
                                                 if used > q["budget"] else [])
                    except Exception as e:  # noqa: BLE001 - one failed pack scores 0
                        rec["error"] = f"{type(e).__name__}: {e}"
                        log(f"ERROR {pk} {q['id']}: {rec['error']}")
                    rc.put(rec)
                    if rec.get("violations"):
                        log(f"!!! BUDGET VIOLATION {pk} {q['id']}: {rec['violations']}")
                out = {
                    "packer": pk, "project": p["name"], "qid": q["id"], "kind": p["kind"],
                    "split": p["split"], "language": q["language"], "style": q["style"],
                    "budget": q["budget"], "question": q["question"], "gold": q["gold"],
                    "tokens": rec.get("tokens"), "seconds": rec.get("seconds"),
                    "error": rec.get("error"), "violations": rec.get("violations") or [],
                    "items": rec.get("items") or [],
                }
                out["scores"] = (score(out["items"], q, by_path) if not out["error"]
                                 else dict.fromkeys(METRICS, 0.0))
                records.append(out)
        log(f"{p['name']}: {len(qs)} questions done ({time.time() - t0:.0f}s)")
    for pk, n in not_run.items():
        log(f"{pk}: {n} questions without a cached result left out (--cached-only)")
    return records


# ---------------------------------------------------------------- report
def pct(x):
    return "—" if x is None else f"{100 * x:.1f}"


def _mean(recs, m):
    return S.mean([r["scores"].get(m) for r in recs])


def group_table(records, packers, key, title, order=None) -> list[str]:
    groups = defaultdict(list)
    for r in records:
        groups[r[key]].append(r)
    names = [g for g in (order or []) if g in groups] + sorted(
        g for g in groups if g not in (order or []))
    L = [f"## {title}\n", "Cells: gold-in-full / gold-seen / answer text in full (percent).\n",
         "| " + key + " | questions | " + " | ".join(packers) + " |",
         "|---|---:|" + "---:|" * len(packers)]
    for g in names:
        sub = groups[g]
        n = len({r["qid"] for r in sub})
        cells = []
        for pk in packers:
            recs = [r for r in sub if r["packer"] == pk]
            cells.append(" / ".join(pct(_mean(recs, m)) for m in ("gold_full", "gold_seen",
                                                                  "text_full"))
                         if recs else "—")
        L.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
    L.append("")
    return L


def overall_table(records, packers) -> list[str]:
    L = ["| packer | packs | gold-in-full | gold-seen | file found | answer text in full | "
         "gold-in-full, no alternatives | mean tokens | s/pack median | errors | "
         "budget violations |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for pk in packers:
        recs = [r for r in records if r["packer"] == pk]
        if not recs:
            continue
        secs = [r["seconds"] for r in recs if r.get("seconds") is not None]
        toks = [r["tokens"] or 0 for r in recs if not r.get("error")]
        L.append(
            f"| {pk} | {len(recs)} | {pct(_mean(recs, 'gold_full'))} | "
            f"{pct(_mean(recs, 'gold_seen'))} | {pct(_mean(recs, 'file_found'))} | "
            f"{pct(_mean(recs, 'text_full'))} | {pct(_mean(recs, 'strict_full'))} | "
            f"{statistics.mean(toks) if toks else 0:.0f} | "
            f"{statistics.median(secs) if secs else 0:.2f} | "
            f"{sum(1 for r in recs if r.get('error'))} | "
            f"{sum(1 for r in recs if r.get('violations'))} |")
    L.append("")
    return L


def counts_section(projects, records) -> list[str]:
    qs = {(r["project"], r["qid"]): r for r in records}
    L = ["## Corpus and questions\n",
         "| project | source | kind | languages | split | questions | plain |",
         "|---|---|---|---|---|---:|---:|"]
    for p in projects:
        mine = [r for (pn, _), r in qs.items() if pn == p["name"]]
        if not mine:
            continue
        L.append(f"| {p['name']} | `{F.source_label(p['source'])}`"
                 + (f" `{p['subdir']}/`" if p.get("subdir") else "")
                 + f" | {p['kind']} | {', '.join(p.get('languages') or [])} | {p['split']} | "
                 f"{len(mine)} | {sum(r['style'] == 'plain' for r in mine)} |")
    L.append("")
    by_lang = defaultdict(lambda: [0, 0])
    for r in qs.values():
        by_lang[r["language"]][r["style"] == "plain"] += 1
    total = len(qs)
    plain = sum(v[1] for v in by_lang.values())
    L += [f"{len({p for p, _ in qs})} projects, {total} questions, {plain} plain English "
          f"({pct(plain / total if total else None)}%).\n",
          "| language | questions | plain | identifier |", "|---|---:|---:|---:|"]
    for lang in sorted(by_lang):
        ident, pl = by_lang[lang]
        L.append(f"| {lang} | {ident + pl} | {pl} | {ident} |")
    L.append("")
    return L


def misses_section(records, packers) -> list[str]:
    """contextpack's questions with a gold span not in full, with what it packed first."""
    by_q = defaultdict(dict)
    for r in records:
        by_q[(r["project"], r["qid"])][r["packer"]] = r
    L = ["## contextpack misses (gold not fully in the pack)\n",
         "Per question: gold-in-full of each packer, the gold span(s), and contextpack's "
         "first full-view items.\n",
         "| question | style | budget | " + " | ".join(packers) + " | gold | contextpack packed |",
         "|---|---|---:|" + "---:|" * len(packers) + "---|---|"]
    for (_, qid), d in sorted(by_q.items()):
        cp = d.get("contextpack")
        if cp is None or (cp["scores"]["gold_full"] or 0) >= 1:
            continue
        cells = [pct(d[pk]["scores"]["gold_full"]) if pk in d else "—" for pk in packers]
        gold = "; ".join(f"{g['path']}:{g['start']}-{g['end']}" for g in cp["gold"])
        firsts = [f"{i[0]}:{i[1]}-{i[2]}" for i in cp["items"] if i[3] == "full"][:3]
        packed = cp["error"] or ", ".join(firsts) or "(nothing in full)"
        qtext = cp["question"].replace("|", "\\|").replace("\n", " ")
        if len(qtext) > 110:
            qtext = qtext[:107] + "..."
        L.append(f"| {qid}: {qtext} | {cp['style']} | {cp['budget']} | " + " | ".join(cells)
                 + f" | `{gold}` | {packed.replace('|', '/')} |")
    L.append("")
    return L


def markdown(records, projects, meta, packers) -> str:
    L = ["# Breadth benchmark: hand-written questions over real packages\n"]
    for k in ("date", "commit", "command", "dense_note"):
        if meta.get(k):
            L.append(f"- **{k.replace('_', ' ')}**: " + (f"`{meta[k]}`" if k == "command"
                                                          else str(meta[k])))
    L.append("")
    L.append("Metrics (percent, mean over questions): **gold-in-full** share of a question's "
             "gold spans at least half covered by full-view items; **gold-seen** share whose "
             "first line is in a full or skeleton item; **file found** share of gold files "
             "with any full/skeleton item; **answer text in full** share of gold spans at least "
             "half of whose lines (stripped, 8+ characters) appear in full items of any file, "
             "so a copy in a dist/ bundle or compiled twin counts. A gold span may list "
             "alternatives (`alt`: another place that answers as well, e.g. the API doc comment "
             "of the function whose body is the gold); it counts when one of them is met, and "
             "**gold-in-full, no alternatives** leaves them out. A failed pack scores 0. "
             "Budgets are each question's own (3k-16k cl100k tokens). See `bench/README.md`.\n")
    L += counts_section(projects, records)
    L.append("## Overall\n")
    L += overall_table(records, packers)
    asked = {pk: {(r["project"], r["qid"]) for r in records if r["packer"] == pk}
             for pk in packers}
    asked = {pk: v for pk, v in asked.items() if v}
    common = set.intersection(*asked.values()) if asked else set()
    if any(v != common for v in asked.values()):
        short = ", ".join(f"{pk} ran {len(v)}" for pk, v in asked.items())
        L.append(f"### The {len(common)} questions every packer ran\n")
        L.append(f"Packers ran different question sets ({short}; `--cached-only`), so here "
                 "they are compared on the common ones only.\n")
        L += overall_table([r for r in records if (r["project"], r["qid"]) in common], packers)
    n_packs = len(records)
    n_viol = sum(1 for r in records if r.get("violations"))
    L.append(f"**Budget check**: {n_packs} packs, {n_viol} over budget or breaking the JSON "
             "contract (contextpack's context re-counted with cl100k; baselines' summed "
             "rendering).\n")
    for key, title, order in (("split", "Per split (by project)", list(SPLITS)),
                              ("kind", "Per corpus kind", list(KINDS)),
                              ("language", "Per language", None),
                              ("style", "Per style", list(STYLES)),
                              ("project", "Per project", None)):
        L += group_table(records, packers, key, title, order)
    L += misses_section(records, packers)
    viol = [r for r in records if r.get("violations")]
    if viol:
        L.append("## BUDGET / CONTRACT VIOLATIONS\n")
        L += [f"- {r['packer']} {r['qid']} @{r['budget']}: {'; '.join(r['violations'])}"
              for r in viol]
        L.append("")
    errs = [r for r in records if r.get("error")]
    if errs:
        L.append("## Errors\n")
        L += [f"- {r['packer']} {r['qid']}: {r['error'][:200]}" for r in errs]
        L.append("")
    return "\n".join(L) + "\n"


def plot(records, out_png: Path, packers):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # (label, field, value): overall, corpus kinds, code per language, styles
    groups = [("overall", None, None)]
    groups += [(k, "kind", k) for k in KINDS if any(r["kind"] == k for r in records)]
    langs = sorted({r["language"] for r in records if r["kind"] == "code"})
    groups += [(lg, "language", lg) for lg in langs]
    groups += [(st, "style", st) for st in STYLES]

    def members(pk, field, value):
        return [r for r in records if r["packer"] == pk
                and (field is None or r[field] == value)
                and (field != "language" or r["kind"] == "code")]

    fig, axes = plt.subplots(2, 1, figsize=(max(10, 0.9 * len(groups) * len(packers) / 2), 7),
                             sharex=True)
    width = 0.8 / max(1, len(packers))
    for ax, m in zip(axes, ("gold_full", "gold_seen"), strict=True):
        for j, pk in enumerate(packers):
            ys = [100 * (_mean(members(pk, f, v), m) or 0) for _, f, v in groups]
            ax.bar([i + (j - (len(packers) - 1) / 2) * width for i in range(len(groups))], ys,
                   width, label=f"{pk} ({len(members(pk, None, None))} questions)")
        ax.set_ylabel(f"{LABELS[m]} (%)")
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[1].set_xticks(range(len(groups)))
    axes[1].set_xticklabels([g for g, _, _ in groups], rotation=30, ha="right")
    axes[0].legend(fontsize=8, ncol=len(packers))
    n = len({(r["project"], r["qid"]) for r in records})
    axes[0].set_title(f"contextpack breadth bench: {n} questions (code per language, prose, "
                      "documents, style)")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def write_report(records, projects, args, packers):
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "type": "meta",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": RV.git_commit(),
        "command": "python bench/breadth.py " + " ".join(sys.argv[1:]),
        "packers": packers,
        "dense_note": (f"dense re-ranks the {DENSE_CHUNKS} chunks BM25 ranks highest for the "
                       "question by MiniLM cosine (MiniLM on the shared CPU is too slow for "
                       "whole packages); its misses beyond those are BM25's"
                       if "dense" in packers else ""),
    }
    raw = args.out / "breadth_raw.jsonl"
    with open(raw, "w", encoding="utf-8") as f:
        f.write(json.dumps(meta) + "\n")
        for r in records:
            f.write(json.dumps(r) + "\n")
    (args.out / "breadth.md").write_text(markdown(records, projects, meta, packers),
                                         encoding="utf-8")
    try:
        plot(records, args.out / "breadth.png", packers)
    except ImportError:  # matplotlib comes with the `bench` extra
        log("matplotlib missing (pip install -e '.[bench]'): no breadth.png")
    log(f"wrote {args.out / 'breadth.md'}, breadth.png, {raw.name}")


# ---------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--projects-dir", type=Path, action="append", default=None,
                    help="folder of project JSON files (repeatable; default "
                    "bench/breadth/projects)")
    ap.add_argument("--projects", default="", help="comma-separated project names")
    ap.add_argument("--packers", default=",".join(PACKERS))
    ap.add_argument("--limit", type=int, default=0, help="first N questions of each project")
    ap.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    ap.add_argument("--cache", type=Path,
                    default=Path.home() / ".cache" / "contextpack-bench" / "breadth")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--contextpack-args", default="")
    ap.add_argument("--contextpack-timeout", type=int, default=1800)
    ap.add_argument("--fresh", default="", help="drop cached results of these packers")
    ap.add_argument("--cached-only", default="",
                    help="packers that only report cached results (e.g. dense while its "
                    "embeddings are still being computed in another run)")
    ap.add_argument("--only", choices=["fetch"], default=None)
    args = ap.parse_args(argv)
    args.packers = [x for x in args.packers.split(",") if x]
    args.cached_only = {x for x in args.cached_only.split(",") if x}
    unknown = set(args.packers) - set(PACKERS)
    if unknown:
        ap.error(f"unknown packers {sorted(unknown)}; choose from {PACKERS}")
    return args


def select_projects(args) -> list[dict]:
    dirs = args.projects_dir or [BENCH / "breadth" / "projects"]
    projects = load_projects(dirs)
    if args.projects:
        want = set(args.projects.split(","))
        missing = want - {p["name"] for p in projects}
        if missing:
            raise SystemExit(f"unknown projects: {sorted(missing)}")
        projects = [p for p in projects if p["name"] in want]
    if args.split != "all":
        projects = [p for p in projects if p["split"] == args.split]
    for p in projects:
        bad = check_project(p)
        if bad:
            raise SystemExit(f"{p['_file']}: {'; '.join(bad[:5])}")
    return projects


def main(argv=None):
    args = parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    projects = select_projects(args)
    if args.only == "fetch":
        for p in projects:
            log(f"{p['name']}: {F.fetch(p, args.cache)}")
        return
    records = run(projects, args)
    write_report(records, projects, args, args.packers)
    for pk in args.packers:
        recs = [r for r in records if r["packer"] == pk]
        log(f"  {pk:12s} gold-in-full {pct(_mean(recs, 'gold_full'))}  gold-seen "
            f"{pct(_mean(recs, 'gold_seen'))}  violations "
            f"{sum(1 for r in recs if r['violations'])}")


if __name__ == "__main__":
    main()
