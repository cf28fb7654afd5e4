"""Speed benchmark: contextpack on a real repository beside repomix packing the same folder.

Measures, each the median of ``--runs`` runs, wall time of whole processes (start-up
included):

* warm    ``contextpack build REPO --budget 32000 --query Q -q`` on a built index, a new
          query each run;
* update  the same after one line was appended to one ``.py`` file (of a copy of REPO:
          REPO itself is only read);
* cold    the same with an empty cache folder, with the peak memory of the process tree,
          and the stage breakdown from ``contextpack index --json`` on an empty cache;
* repomix ``repomix REPO -o FILE`` (the reference), in the same runs as the cold builds;
* first   the first-ever run on a fresh machine: ``contextpack build SMALL`` with an empty
          user cache (XDG_CACHE_HOME and CONTEXTPACK_MODEL_DIR in new empty folders) and an
          empty index cache, SMALL a small repository (contextpack's own package folder);
* install with ``--install``: ``pip install ROOT`` and ``pip install 'ROOT[minilm]'`` into
          new virtual environments, wall time from a warm pip cache (each install is done
          once untimed first) and the environment's size on disk.

    python bench/speed.py                                   # Django 5.0, 5 runs each
    python bench/speed.py --repo contextpack --runs 2 --out /tmp/speed.md

Caches live in a temporary folder removed at the end. Only the first-run measure resets
the per-user caches (tiktoken's parsed ranks). Linux only: memory is read from /proc.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET = 32000
QUERIES = (
    "QuerySet.bulk_create crashes when a field has db_column",
    "where is the CSRF token checked for unsafe methods",
    "how does the migration autodetector find renamed fields",
    "template variable resolution fails for callables with arguments",
    "how are database transactions committed and rolled back",
    "where does the URL resolver match a path and build kwargs",
    "form field validation order: clean, validators, clean_<field>",
    "how are static files collected and hashed",
)
# map: analyze (redact, chunk, terms), count and embed, together in worker processes;
# rows: the store's rows and the cross-file secret scrub
STAGES = ("scan", "read", "map", "rows", "assemble", "write")


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0


@dataclass
class Results:
    warm: list[Run] = field(default_factory=list)
    update: list[Run] = field(default_factory=list)
    cold: list[Run] = field(default_factory=list)
    repomix: list[Run] = field(default_factory=list)
    stages: list[dict[str, float]] = field(default_factory=list)
    index: dict[str, object] = field(default_factory=dict)
    touched: list[str] = field(default_factory=list)
    first: list[Run] = field(default_factory=list)
    first_stderr: str = ""
    install: dict[str, tuple[float, int]] = field(default_factory=dict)


# ------------------------------------------------------------------ processes
def _tree(root: int) -> list[int]:
    """The pids of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _field_kb(path: str, name: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _sample(root: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) of a process tree, in KiB. RSS counts pages shared by
    forked workers once per process; PSS splits them, so it is the truer total."""
    pids = _tree(root)
    rss = sum(_field_kb(f"/proc/{p}/status", "VmRSS:") for p in pids)
    pss = sum(_field_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
    return rss, pss


def timed(cmd: list[str], cwd: Path | None = None, memory: bool = False,
          env: dict[str, str] | None = None, errors: list[str] | None = None) -> Run:
    """Run a command to its end; its wall time and, with ``memory``, the peak RSS and
    PSS of its process tree (polled every 0.1 s by a thread)."""
    peak = [0, 0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    watcher = None
    if memory:
        def watch() -> None:
            while proc.poll() is None:
                rss, pss = _sample(proc.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if watcher:
        watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    if errors is not None:
        errors.append(err.decode(errors="replace"))
    return Run(seconds, peak[0] / 1024, peak[1] / 1024)


def contextpack_cmd() -> list[str]:
    found = shutil.which("contextpack")
    return [found] if found else [sys.executable, "-m", "contextpack"]


def build_cmd(repo: Path, cache: Path, query: str) -> list[str]:
    return [*contextpack_cmd(), "build", str(repo), "--budget", str(BUDGET), "--query", query,
            "-q", "--cache-dir", str(cache)]


def repomix_cmd(repomix: str, repo: Path, out: Path) -> list[str]:
    # --quiet as our -q; markdown and cl100k_base as ours; its secret scan stays on, as
    # our redaction does.
    return [*shlex.split(repomix), str(repo), "-o", str(out), "--quiet", "--style", "markdown",
            "--token-count-encoding", "cl100k_base"]


def default_repomix() -> str:
    local = Path("/work/tools/repomix/node_modules/.bin/repomix")
    return str(local) if local.exists() else "npx repomix"


# ------------------------------------------------------------------ measures
def query(i: int) -> str:
    """A new query each run: the list, then numbered variants of it."""
    q = QUERIES[i % len(QUERIES)]
    return q if i < len(QUERIES) else f"{q} (variant {i // len(QUERIES)})"


def fingerprint(repo: Path) -> list[tuple[str, int, int]]:
    """Every path under ``repo`` with its size and mtime: REPO must come out as it went in."""
    out = []
    for path in sorted(repo.rglob("*")):
        st = path.lstat()
        out.append((path.relative_to(repo).as_posix(), st.st_size, st.st_mtime_ns))
    return out


def warm_page_cache(repo: Path) -> None:
    """Read every file once, so the first measured run is not the one that hits the disk."""
    for path in repo.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                path.read_bytes()
            except OSError:
                pass


def stage_breakdown(repo: Path, cache: Path) -> tuple[dict[str, float], dict[str, object]]:
    """Seconds per index stage of a cold ``contextpack index --json``."""
    cmd = [*contextpack_cmd(), "index", str(repo), "--json", "-q", "--cache-dir", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    doc = json.loads(done.stdout)
    return doc["seconds"], doc


def cold_and_repomix(repo: Path, tmp: Path, runs: int, repomix: str, res: Results) -> Path:
    """Interleaved: repomix, a cold build, a cold index for the breakdown. Returns the
    cache folder of the last cold build (warm for what follows)."""
    cache = tmp
    for i in range(runs):
        out = tmp / f"repomix-{i}.md"
        res.repomix.append(timed(repomix_cmd(repomix, repo, out), cwd=tmp))
        out.unlink(missing_ok=True)
        cache = tmp / f"cold-{i}"
        res.cold.append(timed(build_cmd(repo, cache, query(i)), memory=True))
        stages, doc = stage_breakdown(repo, tmp / f"stages-{i}")
        res.stages.append(stages)
        res.index = doc
        shutil.rmtree(tmp / f"stages-{i}")
        if i < runs - 1:
            shutil.rmtree(cache)
    return cache


def warm_builds(repo: Path, cache: Path, runs: int, res: Results) -> None:
    for i in range(runs):
        res.warm.append(timed(build_cmd(repo, cache, query(100 + i))))


def files_to_touch(root: Path, n: int) -> list[Path]:
    """``n`` different .py files spread over the tree (sorted paths, evenly spaced): the
    same choice on every run of the benchmark."""
    found = sorted(p for p in root.rglob("*.py") if p.is_file() and ".contextpack" not in p.parts)
    if not found:
        raise SystemExit(f"no .py file under {root} to change")
    step = max(len(found) // n, 1)
    return [found[(i * step + step // 2) % len(found)] for i in range(n)]


def update_builds(repo: Path, tmp: Path, cache: Path, runs: int, res: Results) -> None:
    """Copy the tree, index the copy once (sharing the store, so untimed and quick), then
    append a comment line to one file and re-pack, ``runs`` times."""
    copy = tmp / "copy" / repo.name
    shutil.copytree(repo, copy, symlinks=True)
    subprocess.run(build_cmd(copy, cache, query(200)), check=True, stdout=subprocess.DEVNULL)
    for i, path in enumerate(files_to_touch(copy, runs)):
        ends_line = path.read_bytes().endswith(b"\n") or not path.stat().st_size
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(("" if ends_line else "\n") + f"# contextpack speed bench: run {i}\n")
        res.touched.append(path.relative_to(copy).as_posix())
        res.update.append(timed(build_cmd(copy, cache, query(300 + i))))


SMALL_QUERY = "how is the token budget enforced?"


def first_runs(small: Path, tmp: Path, runs: int, res: Results) -> None:
    """The first pack on a fresh machine: empty user cache, empty index cache. Without
    -q, so the stderr of a run shows every one-time step it announces."""
    for i in range(runs):
        home = tmp / f"first-{i}"
        env = {**os.environ, "XDG_CACHE_HOME": str(home / "xdg"),
               "CONTEXTPACK_MODEL_DIR": str(home / "models")}
        cmd = [*contextpack_cmd(), "build", str(small), "--budget", "8000", "--query",
               SMALL_QUERY, "--cache-dir", str(home / "cache")]
        errors: list[str] = []
        res.first.append(timed(cmd, env=env, errors=errors))
        res.first_stderr = errors[0]
        shutil.rmtree(home)


def du_bytes(path: Path) -> int:
    done = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def installs(tmp: Path, res: Results, cache_is_warm: bool) -> None:
    """``pip install ROOT[EXTRA]`` into a new venv: once to warm pip's cache (unless it is
    known to be warm), once timed."""
    root = HERE.parent
    for extra in ("", "minilm"):
        target = f"{root}[{extra}]" if extra else str(root)
        for attempt in ("timed",) if cache_is_warm else ("warm-up", "timed"):
            venv = tmp / f"venv-{extra or 'default'}-{attempt}"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            t0 = time.perf_counter()
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", target], check=True,
                           stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - t0
            if attempt == "timed":
                res.install[extra or "default"] = (seconds, du_bytes(venv))
            shutil.rmtree(venv)


# ------------------------------------------------------------------ report
def machine() -> dict[str, str]:
    cpu = ""
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = _field_kb("/proc/meminfo", "MemTotal:")
        mem = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"cpus (nproc)": nproc, "cpu": cpu or platform.processor(), "memory": mem,
            "os": platform.platform(), "python": platform.python_version()}


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def version(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    return (done.stdout or done.stderr).strip().splitlines()[-1] if done.returncode == 0 else "?"


def median(runs: list[Run], attr: str = "seconds") -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def row(name: str, runs: list[Run], ref: float, target: str, met: bool | None) -> str:
    m = median(runs)
    spread = f"{min(r.seconds for r in runs):.2f}–{max(r.seconds for r in runs):.2f}"
    verdict = "" if met is None else ("yes" if met else "**no**")
    return f"| {name} | {m:.2f} s | {spread} | {m / ref:.2f}× | {target} | {verdict} |"


def first_run_lines(res: Results, args: argparse.Namespace) -> list[str]:
    if not res.first:
        return []
    m = median(res.first)
    spread = f"{min(r.seconds for r in res.first):.2f}–{max(r.seconds for r in res.first):.2f}"
    said = [line for line in res.first_stderr.splitlines() if line.strip()]
    return [
        f"## First-ever run (empty user cache), `{args.small}`",
        "",
        "| measure | median | min–max | target | met |",
        "|---|---:|---:|---|---|",
        f"| first pack, empty user and index caches | {m:.2f} s | {spread} | ≤ 20 s | "
        f"{'yes' if m <= 20 else '**no**'} |",
        "",
        "What the last first run printed on stderr (no `-q`):",
        "",
        "```text",
        *(said[:20] or ["(nothing)"]),
        "```",
        "",
    ]


def install_lines(res: Results) -> list[str]:
    if not res.install:
        return []
    rows = [f"| `pip install {'.' if k == 'default' else f'.[{k}]'}` | {s:.1f} s | "
            f"{b / 2**20:,.0f} MB |" for k, (s, b) in res.install.items()]
    return [
        "## Install (a new venv; pip's cache warm; `du -sb` of the venv, pip included)",
        "",
        "| install | wall time | environment on disk |",
        "|---|---:|---:|",
        *rows,
        "",
    ]


def report(res: Results, args: argparse.Namespace, facts: dict[str, str], loads: tuple[str, str],
           tools: dict[str, str]) -> str:
    ref = median(res.repomix)
    warm, update, cold = median(res.warm), median(res.update), median(res.cold)
    rss = max(r.peak_rss_mb for r in res.cold)
    pss = max(r.peak_pss_mb for r in res.cold)
    memory_met = "yes" if rss <= 2048 else ("by PSS only" if pss <= 2048 else "**no**")
    stages = {s: statistics.median(st.get(s, 0.0) for st in res.stages) for s in STAGES}
    index_total = statistics.median(st["total"] for st in res.stages)
    ix = {k: f"{v:,}" if isinstance(v, int) else "?" for k, v in
          ((k, res.index.get(k)) for k in ("files", "chunks", "tokens"))}
    lines = [
        "# Speed: contextpack beside repomix",
        "",
        f"Written by `python bench/speed.py {shlex.join(args.argv)}`".rstrip() + ".",
        "",
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- contextpack commit: {commit()}",
        f"- repository: `{args.repo}` ({ix['files']} files, {ix['chunks']} chunks, "
        f"{ix['tokens']} tokens)",
        f"- runs: {args.runs} of each, figures are medians (min–max beside them)",
        *(f"- {k}: {v}" for k, v in facts.items()),
        f"- load average (1, 5, 15 min) at start: {loads[0]}; at end: {loads[1]}",
        *(f"- {k}: {v}" for k, v in tools.items()),
        "",
        "| measure | median | min–max | vs repomix | target | met |",
        "|---|---:|---:|---:|---|---|",
        row("warm build, new query", res.warm, ref, "≤ 1.5 s", warm <= 1.5),
        row("re-pack after one file changed", res.update, ref, "≤ 2 s", update <= 2.0),
        row("cold build, empty cache", res.cold, ref, "≤ 2× repomix", cold <= 2 * ref),
        row("repomix, same folder", res.repomix, ref, "reference", None),
        "",
        *first_run_lines(res, args),
        *install_lines(res),
        f"Peak memory of the cold build's process tree (polled every 0.1 s): {rss:,.0f} MB "
        f"summed RSS (pages shared by forked workers counted in each), {pss:,.0f} MB summed "
        f"PSS (the most of any run); target ≤ 2 GB: {memory_met}.",
        "",
        f"## Cold build by stage (`contextpack index --json`, median of {len(res.stages)})",
        "",
        "| stage | seconds | share |",
        "|---|---:|---:|",
        *(f"| {s} | {v:.2f} | {v / index_total:.0%} |" for s, v in stages.items()),
        f"| start-up, model load, other | {index_total - sum(stages.values()):.2f} | "
        f"{(index_total - sum(stages.values())) / index_total:.0%} |",
        f"| **index total** | {index_total:.2f} | 100% |",
        "",
        f"The cold build ({cold:.2f} s) is the index plus ranking, packing and rendering "
        f"({cold - index_total:.2f} s by difference, start-up paid once).",
        "",
        "## Commands",
        "",
        "```bash",
        "# cold (CACHE empty each run) and warm (CACHE from the last cold run)",
        shlex.join(build_cmd(Path(args.repo), Path("CACHE"), "QUERY")),
        "# stage breakdown (EMPTY a new empty folder each run)",
        shlex.join([*contextpack_cmd(), "index", args.repo, "--json", "-q", "--cache-dir",
                    "EMPTY"]),
        "# update: COPY is a copy of the repository; before each run one line is appended",
        "# to one of its .py files: echo '# contextpack speed bench: run N' >> COPY/FILE",
        shlex.join(build_cmd(Path("COPY"), Path("CACHE"), "QUERY")),
        "# reference",
        shlex.join(repomix_cmd(args.repomix, Path(args.repo), Path("OUT.md"))),
        "```",
        "",
        "repomix runs with `--quiet` (as `-q`), markdown output and `cl100k_base` counts (as",
        "contextpack's defaults) and its secret scan on (contextpack redacts secrets by",
        "default). It is started from its installed binary (what `npx repomix` runs, without",
        "npx's own start-up); its output goes to a temporary file.",
        "",
        "## Every run (seconds)",
        "",
        "| run | warm | update (file changed) | cold | cold peak RSS MB | repomix |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for i in range(args.runs):
        lines.append(f"| {i + 1} | {res.warm[i].seconds:.2f} | {res.update[i].seconds:.2f} "
                     f"(`{res.touched[i]}`) | {res.cold[i].seconds:.2f} | "
                     f"{res.cold[i].peak_rss_mb:,.0f} | {res.repomix[i].seconds:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default="/work/data/Django-5.0",
                        help="folder to pack (only read) [default: %(default)s]")
    parser.add_argument("--runs", type=int, default=5, help="runs of each measure [5]")
    parser.add_argument("--out", default=str(HERE / "results" / "speed.md"),
                        help="report file [bench/results/speed.md]")
    parser.add_argument("--repomix", default=default_repomix(),
                        help="command that runs repomix [default: %(default)s]")
    parser.add_argument("--small", default=str(HERE.parent / "contextpack"),
                        help="small repository for the first-ever run [contextpack's package]")
    parser.add_argument("--install", action="store_true",
                        help="also time pip install of the default install and each extra")
    parser.add_argument("--pip-cache-warm", action="store_true",
                        help="with --install: skip the untimed install that warms pip's cache")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    repo = Path(args.repo).resolve()
    if not repo.is_dir():
        parser.error(f"--repo {args.repo}: not a folder")
    tools = {"contextpack": version([*contextpack_cmd(), "--version"]),
             "repomix": version([*shlex.split(args.repomix), "--version"])}
    facts = machine()
    start_load = load()
    res = Results()
    before = fingerprint(repo)
    with tempfile.TemporaryDirectory(prefix="contextpack-speed-") as name:
        tmp = Path(name)
        warm_page_cache(repo)
        print(f"cold builds and repomix, {args.runs} runs...", file=sys.stderr)
        cache = cold_and_repomix(repo, tmp, args.runs, args.repomix, res)
        print("warm builds...", file=sys.stderr)
        warm_builds(repo, cache, args.runs, res)
        print("updates...", file=sys.stderr)
        update_builds(repo, tmp, cache, args.runs, res)
        print("first-ever runs...", file=sys.stderr)
        first_runs(Path(args.small).resolve(), tmp, args.runs, res)
        if args.install:
            print("installs...", file=sys.stderr)
            installs(tmp, res, args.pip_cache_warm)
    if fingerprint(repo) != before:
        raise SystemExit(f"{repo} changed during the benchmark: it must only be read")
    text = report(res, args, facts, (start_load, load()), tools)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
