"""Hostile and careless input, round 2: writes that must not escape or replace what they
write to, reads that race with the walk, and inputs that must end in one line, not a
traceback. Each case asserts the message and the exit status."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from contextpack.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"uncaught {exc!r}"
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    (r / "ok.py").write_text('def ok():\n    """A normal function."""\n    return 1\n')
    return r


def build_to(root: Path, output: str | Path, *extra: str) -> tuple[int, str, str]:
    return run("build", str(root), "-b", "2000", "-q", "--no-cache", "-o", str(output), *extra)


# ------------------------------------------------------------------ writes: -o
def test_output_onto_a_symlink_writes_its_target_and_keeps_the_link(root: Path,
                                                                   tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    code, _, err = build_to(root, link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("# Context:")


def test_output_onto_a_device_writes_through_it(root: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:  # a device of our own: a regression must not replace /dev/null
        dev = tmp_path / "null"
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:
        dev = Path("/dev/null")
    before = os.stat(dev)
    code, _, err = build_to(root, dev)
    assert code == 0, err
    after = os.stat(dev)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert not list(dev.parent.glob(f".{dev.name}.*.tmp"))


def test_output_onto_a_fifo_writes_through_it(root: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = build_to(root, fifo)
    reader.join(30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith(b"# Context:")


def test_output_path_with_a_nul_is_one_line(root: Path) -> None:
    code, _, err = build_to(root, "out\0.md")
    assert code == 2  # a usage error, as click reports them
    assert "Invalid value for '-o' / '--output': 'out\\x00.md' holds a NUL character" in err


# ------------------------------------------------------------ writes: snapshot
def snapshot_with(root: Path, output: str) -> tuple[int, str, str]:
    (root / ".contextpack.toml").write_text(f'budget = 2000\noutput = "{output}"\n')
    return run("snapshot", str(root), "--cache-dir", str(root.parent / "cache"), "-q")


def test_snapshot_through_a_link_out_of_the_root_is_refused(root: Path,
                                                            tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "docs").symlink_to(outside)
    code, _, err = snapshot_with(root, "docs/CONTEXT.md")
    assert code == 1
    assert "snapshot output 'docs/CONTEXT.md' leads out of the repository" in err
    assert not list(outside.iterdir())
    (root / "docs").unlink()
    (root / "CONTEXT.md").symlink_to(outside / "victim.md")
    code, _, err = snapshot_with(root, "CONTEXT.md")
    assert code == 1 and "leads out of the repository" in err
    assert not (outside / "victim.md").exists()


def test_snapshot_into_git_is_refused(root: Path) -> None:
    (root / ".git" / "hooks").mkdir(parents=True)
    code, _, err = snapshot_with(root, ".git/hooks/pre-commit")
    assert code == 1
    assert "snapshot output '.git/hooks/pre-commit' is inside .git/" in err
    assert not (root / ".git" / "hooks" / "pre-commit").exists()


def test_snapshot_onto_a_source_file_is_refused(root: Path) -> None:
    code, _, err = snapshot_with(root, "ok.py")
    assert code == 1
    assert "snapshot output 'ok.py' is one of the sources" in err
    assert (root / "ok.py").read_text().startswith("def ok():")


def test_snapshot_through_a_link_inside_the_root_and_over_its_own_file_works(
        root: Path) -> None:
    (root / "real_docs").mkdir()
    (root / "docs").symlink_to(root / "real_docs")
    code, _, err = snapshot_with(root, "docs/CONTEXT.md")
    assert code == 1, err  # written: out of date until added
    assert (root / "real_docs" / "CONTEXT.md").read_text().startswith("# Context:")
    code, _, err = snapshot_with(root, "docs/CONTEXT.md")
    assert code == 0, err  # its own file is rewritten (here: left alone), never refused


# ------------------------------------------------------------------------- reads
def test_a_file_swapped_for_a_link_after_the_walk_is_skipped_not_followed(
        root: Path, tmp_path: Path) -> None:
    from contextpack.sources import SourceFile, read_source, scan

    secret = tmp_path / "outside.txt"
    secret.write_text("def outside():\n    return 'not yours'\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.py").write_text("def inner():\n    return 2\n")
    found = {f.path: f for f in scan(root).files}
    (root / "ok.py").unlink()
    (root / "ok.py").symlink_to(secret)
    got = read_source(found["ok.py"])
    assert not isinstance(got, SourceFile)
    assert got.reason == "changed since the walk: now a symbolic link (not followed)"
    # a folder on the way swapped for a link that leads out
    (root / "sub" / "inner.py").unlink()
    (root / "sub").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "inner.py").write_text("def stolen():\n    return 3\n")
    (root / "sub").symlink_to(tmp_path / "elsewhere")
    got = read_source(found["sub/inner.py"])
    assert not isinstance(got, SourceFile)
    assert got.reason == "changed since the walk: now a symbolic link (not followed)"


def test_a_file_swapped_for_a_fifo_after_the_walk_is_skipped_without_a_hang(
        root: Path) -> None:
    from contextpack.sources import read_source, scan

    found = {f.path: f for f in scan(root).files}
    (root / "ok.py").unlink()
    os.mkfifo(root / "ok.py")
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(read_source(found["ok.py"])), daemon=True)
    t.start()
    t.join(10)
    assert result, "reading a FIFO hung"
    assert getattr(result[0], "reason", "") == "not a regular file (changed since the walk)"


def test_ignore_files_that_are_links_devices_or_huge_are_not_read(root: Path) -> None:
    from contextpack.sources import MAX_IGNORE_FILE_BYTES, scan

    (root / ".gitignore").symlink_to("/dev/zero")
    (root / "sub").mkdir()
    (root / "sub" / "keep.py").write_text("x = 1\n")
    with open(root / "sub" / ".gitignore", "w") as fh:  # over the bound: not read
        fh.write("keep.py\n" + "#" * MAX_IGNORE_FILE_BYTES)
    t = time.perf_counter()
    files = [f.path for f in scan(root).files]
    assert time.perf_counter() - t < 5
    assert files == ["ok.py", "sub/keep.py"]


GIT_PATTERNS = [
    "*\n!*/\n!*.py\n",  # an allowlist: only Python files, in any folder
    "\\\\\n!\nsrc\\\\\n[z-a]\n*.txt\n",  # lines git skips, then one it keeps
    "build/\n!build/keep.py\n*.log\n!important.log\n",
    "/docs/*\n!/docs/f.md\nsrc/**/e.*\n",
    "# comment\n\\#hash.py\ntrailing.py   \n",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("patterns", GIT_PATTERNS)
def test_ignore_patterns_select_what_git_selects(tmp_path: Path, patterns: str) -> None:
    from contextpack.sources import SourceOptions, scan

    repo = tmp_path / "g"
    names = ["a.py", "b.txt", "src/c.py", "src/sub/d.py", "src/sub/e.txt", "docs/f.md",
             "docs/g.md", "build/keep.py", "build/out.py", "x.log", "important.log",
             "#hash.py", "trailing.py", "src\\.py"]
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("x = 1\n")
    (repo / ".gitignore").write_text(patterns)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "-o",
                             "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    expected = sorted(p for p in listed if p and p != ".gitignore")
    # ignore patterns alone: build output (build/) is left out by a rule git does not have
    everything = SourceOptions(include_generated=True, include_vendored=True)
    assert sorted(f.path for f in scan(repo, everything).files) == expected


# ----------------------------------------------------------------------- crashes
def test_file_names_that_are_not_utf8_are_packed_under_a_readable_name(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/r\xff"  # the root's own name is not UTF-8 either
    os.mkdir(folder)
    with open(folder + b"/caf\xe9.py", "w") as fh:
        fh.write("def cafe():\n    return 'latte'\n")
    for fmt in ("markdown", "json"):
        for cache in ("--no-cache", "-q"):  # the cache, keyed by the root, copes too
            code, out, err = run("build", os.fsdecode(folder), "-b", "2000", "-q", cache,
                                 "-f", fmt)
            assert code == 0, err
            assert "caf\ufffd.py" in out and "return 'latte'" in out
            out.encode("utf-8")


def test_five_hundred_nested_folders(root: Path) -> None:
    deep = root
    for _ in range(500):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "deep.py").write_text("def deep():\n    return 1\n")
    code, out, err = run("build", str(root), "-b", "2000", "-q", "--no-cache", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["stats"]["skipped"] == {"nested too deeply": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe\x00q\x00", "is not UTF-8 text (byte 0 is 0xff); save it as UTF-8"),
        (b"what\x00does this do", "holds NUL bytes: a binary file, not a query"),
    ],
)
def test_binary_query_files_are_usage_errors(root: Path, tmp_path: Path, data: bytes,
                                             message: str) -> None:
    q = tmp_path / "q.txt"
    q.write_bytes(data)
    code, _, err = run("build", str(root), "-b", "2000", "--no-cache", "--query-file", str(q))
    assert code == 2
    assert f"Invalid value for --query-file: '{q}' {message}" in err


def test_a_query_file_with_a_bom_works(root: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.txt"
    q.write_bytes(b"\xef\xbb\xbfthe ok function")
    code, out, err = run("build", str(root), "-b", "2000", "--no-cache", "-q", "-f", "json",
                         "--query-file", str(q))
    assert code == 0, err
    assert json.loads(out)["query"] == "the ok function"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (b"[tool.contextpack]\nbudget = 99999999999999999999999\n",
         "'budget' must be at most 1,099,511,627,776 tokens, not a number of 77 bits"),
        (b"[tool.contextpack]\nbudget = " + b"9" * 5000 + b"\n", "is not valid TOML"),
        (b"[tool.contextpack]\nbudget = 500\n# caf\xe9\n",
         "pyproject.toml is not UTF-8 text (byte 37); TOML files must be UTF-8"),
        (b"[tool.contextpack.weights]\ngraph = inf\n",
         "ranking weight graph must be a finite number, not inf"),
    ],
)
def test_bad_configuration_is_one_line(root: Path, config: bytes, message: str) -> None:
    (root / "pyproject.toml").write_bytes(config)
    code, _, err = run("snapshot", str(root), "-q", "--cache-dir", str(root.parent / "c"))
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_non_finite_weights_are_rejected(root: Path, value: str) -> None:
    code, _, err = run("build", str(root), "-b", "2000", "--no-cache", "--weight",
                       f"graph={value}")
    assert code == 1
    assert "Error: ranking weight graph must be a finite number, not" in err


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((b"query", "SRC"), {}, "query must be a str, not bytes; decode bytes to str first"),
        (("query", None), {}, "sources must be a path, a document or a list of them, not None"),
        (("query", b"text"), {}, "cannot pack bytes; decode them to str first (or pass a path)"),
        (("query", [b"text"]), {}, "source 0 is bytes; decode it to str first"),
        (("query", "SRC", "1000"), {}, "budget must be a whole number of tokens or None, not "
                                       "str '1000'"),
        (("query", "SRC", 1000), {"reserve": "10"},
         "reserve must be a whole number of tokens or None, not str '10'"),
    ],
)
def test_the_api_with_wrong_types_raises_clear_type_errors(
        root: Path, args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    from contextpack import pack

    args = tuple(str(root) if a == "SRC" else a for a in args)
    with pytest.raises(TypeError) as info:
        pack(*args, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize("fmt", ["markdown", "xml", "json"])
def test_lone_surrogates_and_control_characters_leave_valid_output(fmt: str) -> None:
    from xml.dom.minidom import parseString

    from contextpack import Document, pack

    doc = Document('def add(a, b):\n    """Bell \x07, form feed \x0c, lone \ud83d."""\n'
                   "    return a + b\n", id="m\udcff.py")
    p = pack("add \udcff numbers", [doc], budget=1000, format=fmt, embedder="none")
    data = p.text.encode("utf-8")  # never raises: no lone surrogates anywhere
    assert "return a + b" in p.text and "\ufffd" in p.query
    if fmt == "xml":
        parseString(data)
    if fmt == "json":
        json.loads(data)


@pytest.mark.parametrize(
    ("args", "works"),
    [
        (("-b", "10"), ("-b", "{need}")),
        (("-b", "9", "-f", "xml"), ("-b", "{need}", "-f", "xml")),
        (("-b", "100", "--reserve", "95"), ("-b", "{need}", "--reserve", "95")),
        (("-b", "100", "--reserve", "150"), ("-b", "{need}", "--reserve", "150")),
    ],
)
def test_budget_hints_name_a_value_that_works(root: Path, args: tuple[str, ...],
                                              works: tuple[str, ...]) -> None:
    code, _, err = run("build", str(root), "--no-cache", "-q", *args)
    assert code == 1
    m = re.search(r"pass --budget (\d+) or more", err)
    assert m, err
    fixed = tuple(a.format(need=m.group(1)) for a in works)
    code, out, err = run("build", str(root), "--no-cache", "-q", *fixed)
    assert code == 0, err
    assert out.startswith(("# Context:", "<context "))


def test_workers_never_outlive_the_main_process(tmp_path: Path) -> None:
    script = tmp_path / "main.py"
    script.write_text(
        "import os, sys, time\n"
        "from contextpack.analyze import worker_pool\n"
        "pool = worker_pool(2)\n"
        "futures = [pool.submit(time.sleep, 120) for _ in range(2)]\n"
        "time.sleep(1.0)\n"
        "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(p) for p in workers)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "a worker outlived the main process"


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
