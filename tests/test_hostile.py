"""Hostile and careless input, round 2: writes that must not escape or replace what they
write to, reads that race with the walk, and inputs that must end in one line, not a
traceback. Each case asserts the message and the exit status."""

from __future__ import annotations

import os
import stat
import threading
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
