"""MCP server benchmark: ``contextpack mcp`` on a real repository, through a real stdio
client (the ``mcp`` SDK's), index warm.

Measures, each the median over several calls, the wall time the client sees for one tool
call (JSON-RPC over the server's stdin/stdout included):

* pack     ``pack(query, budget=32000, fresh=true)``, a new query each call;
* search   ``search(query, limit=20)``;
* edit     the first ``pack`` after one ``.py`` file changed (a line appended; the server's
           watcher notices it, the call re-reads that file);

and, as the baseline in the same run, ``contextpack build REPO --budget 32000 --query Q``
as a whole process (what an agent pays per question without the server).

Then a scripted session of 10 related questions, packed at 32,000 tokens each twice: with
session-aware packing (one session: what was sent in full is not sent again) and without
it (``fresh=true`` on every call). It reports the tokens sent, the tokens of chunks sent in
full a second time (redundant) and the tokens of distinct chunks received.

    python bench/mcp_speed.py                         # Django 5.0, in a scratch copy
    python bench/mcp_speed.py --repo /path/to/Django-5.0 --scratch /tmp/cp-mcp --out /tmp/mcp.md
    python bench/mcp_speed.py --profile               # also: where one in-process pack spends
    python bench/mcp_speed.py --old /work/main        # that checkout's server alongside

REPO is only read: the edits go to a copy in ``--scratch`` (kept, so a rerun finds its index
warm; the edited files are restored at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from speed import QUERIES, commit, load, machine  # noqa: E402

BUDGET = 32000
TARGETS = {"pack": 0.3, "search": 0.15, "edit": 0.6}
SEARCHES = (
    "bulk_create db_column", "CSRF token check", "migration autodetector renamed field",
    "template variable resolution", "transaction atomic rollback", "URL resolver kwargs",
    "form clean validators", "collectstatic hashed files",
)
EDITED = ("django/db/models/query.py", "django/middleware/csrf.py",
          "django/template/base.py", "django/urls/resolvers.py", "django/forms/forms.py")
SESSION = (
    "QuerySet.bulk_create crashes when a field has db_column",
    "how does bulk_create set primary keys on the objects it created",
    "how does bulk_create handle ignore_conflicts and update_conflicts",
    "where does the SQL compiler build INSERT statements",
    "how is ON CONFLICT rendered for PostgreSQL and SQLite",
    "how are a field's db_column names used in INSERT and UPDATE queries",
    "how does bulk_update build its CASE WHEN statements",
    "how is the largest batch size for bulk_create computed per database backend",
    "how does SQLInsertCompiler return the inserted rows (returning_fields)",
    "tests for bulk_create with db_column and unique fields",
)


def prepare(repo: Path, scratch: Path, code: Path = HERE.parent) -> Path:
    """A copy of ``repo`` under ``scratch`` with its index built (kept between runs) by
    the contextpack of checkout ``code``."""
    copy = scratch / repo.name
    if not copy.is_dir():
        print(f"copying {repo} to {copy}...", file=sys.stderr)
        shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".contextpack"))
    print("building the index (warm if it was built before)...", file=sys.stderr)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-m", "contextpack", "index", str(copy), "-q"], check=True,
                   env=env)
    return copy


def cli_baseline(copy: Path, runs: int) -> list[float]:
    out = []
    for q in QUERIES[:runs]:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "contextpack", "build", str(copy), "--budget",
                        str(BUDGET), "--query", q, "-q"], check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


async def measure(servers: dict[str, tuple[Path, Path]], runs: int) -> dict[str, Any]:
    """The calls' wall times on each server (label -> (its copy of the repository, the
    checkout whose contextpack it runs)), one result per label.

    With two servers their calls alternate (which goes first alternates too), each on its
    own copy, so that both see the same load; the session runs on "new" only.
    """
    from contextlib import AsyncExitStack

    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    res: dict[str, dict[str, Any]] = {
        label: {"pack": [], "search": [], "edit": [], "pack_tokens": []} for label in servers}
    originals = {label: {p: (copy / p).read_bytes() for p in EDITED}
                 for label, (copy, _) in servers.items()}
    labels = list(servers)

    def turns(i: int) -> list[str]:
        return labels if i % 2 == 0 else labels[::-1]

    try:
        async with AsyncExitStack() as stack:
            clients = {}
            for label, (copy, code) in servers.items():
                env = dict(os.environ)
                env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
                params = StdioServerParameters(command=sys.executable, env=env,
                                               args=["-m", "contextpack", "mcp", str(copy), "-q"])
                t0 = time.perf_counter()
                client = await stack.enter_async_context(Client(params, read_timeout_seconds=600))
                while (await client.call_tool("search", {"query": "warm up",
                                                         "limit": 1})).is_error:
                    pass  # "still being built": the server says so after a while; ask again
                res[label]["first_result_s"] = time.perf_counter() - t0  # start-up, index load
                clients[label] = client
            for i, q in enumerate(QUERIES[:runs]):
                for label in turns(i):
                    t = time.perf_counter()
                    got = await clients[label].call_tool("pack", {"query": q, "budget": BUDGET,
                                                                  "fresh": True})
                    res[label]["pack"].append(time.perf_counter() - t)
                    assert not got.is_error, got.content
                    res[label]["pack_tokens"].append(got.structured_content["tokens"])
            for i, q in enumerate(SEARCHES[:runs]):
                for label in turns(i):
                    t = time.perf_counter()
                    got = await clients[label].call_tool("search", {"query": q, "limit": 20})
                    res[label]["search"].append(time.perf_counter() - t)
                    assert not got.is_error, got.content
            for i in range(runs):  # the files in turn, again from the first after the last
                path, q = EDITED[i % len(EDITED)], QUERIES[i % len(QUERIES)]
                for label in turns(i):
                    with open(servers[label][0] / path, "a", encoding="utf-8") as fh:
                        fh.write(f"\n# edited by bench/mcp_speed.py at {time.time()}\n")
                    time.sleep(0.5)  # the agent's own turn; the watcher sees the change
                    t = time.perf_counter()
                    got = await clients[label].call_tool("pack", {"query": q, "budget": BUDGET,
                                                                  "fresh": True})
                    res[label]["edit"].append(time.perf_counter() - t)
                    assert not got.is_error, got.content
                    time.sleep(1.0)  # whatever the server does after answering ends first
            res["new"]["session"] = await scripted_session(clients["new"])
    finally:
        for label, files in originals.items():
            for path, data in files.items():
                (servers[label][0] / path).write_bytes(data)
    return res


async def scripted_session(client: Any) -> dict[str, dict[str, int]]:
    """The 10 questions with one session and without (fresh each time): tokens sent,
    tokens of full chunks sent a second time, tokens of distinct chunks received."""
    out = {}
    for mode in ("without", "with"):
        await client.call_tool("pack", {"query": "reset", "budget": 200, "fresh": True})
        sent = repeated = 0
        seen: dict[tuple[str, int, int], int] = {}
        for n, q in enumerate(SESSION):
            args = {"query": q, "budget": BUDGET, "format": "json",
                    "fresh": mode == "without" or n == 0}
            got = await client.call_tool("pack", args)
            doc = json.loads(got.content[0].text)
            sent += doc["tokens"]
            for item in doc["items"]:
                if item["view"] != "full":
                    continue
                key = (item["path"], item["start_line"], item["end_line"])
                if key in seen:
                    repeated += item["tokens"]
                seen[key] = item["tokens"]
        out[mode] = {"tokens_sent": sent, "repeated_full_tokens": repeated,
                     "distinct_full_tokens": sum(seen.values()), "distinct_full_chunks": len(seen)}
    return out


def profile(copy: Path) -> str:
    """Where one warm, in-process pack at 32k spends its time (cProfile, top entries)."""
    import cProfile
    import io
    import pstats

    from contextpack import Packer
    from contextpack.serve import _warm_up

    packer = Packer(str(copy))
    _warm_up(packer)  # as the server does after loading (the secret scanner's plugins...)
    packer.prepare()  # ...and the next update is incremental
    packer.pack(QUERIES[0], BUDGET)
    prof = cProfile.Profile()
    prof.enable()
    pack = packer.pack(QUERIES[1], BUDGET)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    # the update a one-file edit costs, by stage (what the first pack after it waits for)
    target = copy / EDITED[0]
    original = target.read_bytes()
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write("\n# edited by bench/mcp_speed.py\n")
        t0 = time.perf_counter()
        packer.refresh(in_memory=True)
        took = time.perf_counter() - t0
    finally:
        target.write_bytes(original)
    stages = {k: round(float(v), 3) for k, v in packer.index.stats.items() if k.endswith("_s")}
    return (f"one pack, stage seconds: {pack.stats['seconds']}\n"
            f"Packer.refresh() after a one-file edit: {took:.2f} s, stages {stages}\n\n"
            + buf.getvalue())


def report(res: dict[str, Any], baseline: list[float], args: argparse.Namespace,
           loads: tuple[str, str], prof: str, old: dict[str, Any] | None = None) -> str:
    def row(name: str, values: list[float], target: float | None) -> str:
        m = statistics.median(values)
        met = "" if target is None else ("yes" if m <= target else
                                         f"**no** (+{m - target:.2f} s, {m / target:.1f}×)")
        return (f"| {name} | {m:.3f} s | {min(values):.3f}–{max(values):.3f} | "
                f"{len(values)} | {'' if target is None else f'≤ {target} s'} | {met} |")

    facts = machine()
    s = res["session"]
    lines = [
        "# contextpack MCP server: speed on a warm index, and a session's tokens",
        "",
        f"`python bench/mcp_speed.py {' '.join(args.argv)}` on {args.repo} "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit()}).",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items())
        + f". Load average at start / end: {loads[0]} / {loads[1]}.",
        "",
        "| call (stdio client, wall) | median | range | calls | target | met |",
        "|---|---:|---:|---:|---:|---|",
        row("pack, 32k budget", res["pack"], TARGETS["pack"]),
        row("search, 20 hits", res["search"], TARGETS["search"]),
        row("first pack after a one-file edit", res["edit"], TARGETS["edit"]),
        row("baseline: `contextpack build --budget 32000` (a process per question)",
            baseline, None),
        "",
        f"Server start to first result (index loaded from its warm cache): "
        f"{res['first_result_s']:.1f} s. Packs held the budget: "
        f"{max(res['pack_tokens']):,} tokens at most of {BUDGET:,}.",
        "",
        *(compared(old, res, args.old) if old else []),
        "## A session of 10 related questions (bulk_create and the INSERT path), 32k each",
        "",
        "| packing | tokens sent | full chunks sent again (tokens) | distinct full chunks "
        "received | their tokens |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, label in (("without", "without session (fresh=true each call)"),
                        ("with", "session-aware")):
        m = s[mode]
        lines.append(f"| {label} | {m['tokens_sent']:,} | {m['repeated_full_tokens']:,} | "
                     f"{m['distinct_full_chunks']:,} | {m['distinct_full_tokens']:,} |")
    if prof:
        lines += ["", "## Where one warm in-process pack at 32k spends its time", "", "```",
                  prof.strip(), "```"]
    return "\n".join(lines) + "\n"


def compared(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    """Old server (another checkout) against this one, measured back to back."""
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=where,
                          capture_output=True, text=True).stdout.strip() or "?"
    lines = [f"### Against the server of {where} (commit {head}): the same calls, "
             "alternating with this one's, each server on its own copy", "",
             "| call | old median | new median | old / new |", "|---|---:|---:|---:|"]
    raw: list[str] = []
    for key, label in (("pack", "pack, 32k budget"), ("search", "search, 20 hits"),
                       ("edit", "first pack after a one-file edit")):
        a, b = statistics.median(old[key]), statistics.median(new[key])
        lines.append(f"| {label} | {a:.3f} s | {b:.3f} s | {a / b:.2f}× |")
        raw.append(f"{label}: old {' '.join(f'{x:.2f}' for x in old[key])}; "
                   f"new {' '.join(f'{x:.2f}' for x in new[key])}")
    a, b = old["first_result_s"], new["first_result_s"]
    lines += [f"| server start to first result | {a:.1f} s | {b:.1f} s | {a / b:.2f}× |", "",
              "Each call, in order (seconds; the pair of a round alternates who goes first):",
              "", *(f"- {r}" for r in raw), ""]
    return lines


def main(argv: list[str] | None = None) -> None:
    import anyio

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default="/work/data/Django-5.0",
                        help="folder to serve (only read) [default: %(default)s]")
    parser.add_argument("--scratch", default="/tmp/contextpack-mcp-bench",
                        help="where its copy and index live [default: %(default)s]")
    parser.add_argument("--runs", type=int, default=5, help="calls of each kind [5]")
    parser.add_argument("--out", default=str(HERE / "results" / "mcp_speed.md"))
    parser.add_argument("--profile", action="store_true",
                        help="also profile one in-process pack (cProfile)")
    parser.add_argument("--old", metavar="DIR",
                        help="also measure the server of another checkout (e.g. main), its "
                             "calls alternating with this one's, and give the ratios")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    repo = Path(args.repo).resolve()
    if not repo.is_dir():
        parser.error(f"--repo {args.repo}: not a folder")
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    copy = prepare(repo, scratch)
    servers = {"new": (copy, HERE.parent)}
    if args.old:  # its own copy: the two servers never see each other's edits
        servers = {"old": (prepare(repo, scratch / "old", Path(args.old).resolve()),
                           Path(args.old).resolve()), **servers}
    start = load()
    print("baseline: contextpack build...", file=sys.stderr)
    baseline = cli_baseline(copy, min(args.runs, 3))
    print(f"the server{'s' if len(servers) > 1 else ''}, over stdio...", file=sys.stderr)
    both = anyio.run(measure, servers, args.runs)
    res, old = both["new"], both.get("old")
    prof = profile(copy) if args.profile else ""
    text = report(res, baseline, args, (start, load()), prof, old)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
