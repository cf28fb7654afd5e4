"""Strange input through the command line: each case ends with a clear message and the
right exit status (1: the user's input, 2: usage, as click does), never a traceback."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import contextpack.sources as sources_mod
from contextpack.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"uncaught {exc!r}"
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def build_json(path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("build", str(path), "-b", "4000", "-f", "json", "-q", *extra)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def paths_in(doc: dict) -> set[str]:  # type: ignore[type-arg]
    return {item["path"] for item in doc["items"]}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    (r / "ok.py").write_text('def ok():\n    """A normal function."""\n    return 1\n')
    return r


def test_missing_path(tmp_path: Path) -> None:
    code, _, err = run("build", str(tmp_path / "nope"), "-b", "500")
    assert code == 1
    assert f"path '{tmp_path / 'nope'}' does not exist" in err


def test_a_file_instead_of_a_folder_packs_just_that_file(root: Path) -> None:
    (root / "other.py").write_text("def other():\n    return 2\n")
    doc = build_json(root / "ok.py")
    assert paths_in(doc) == {"ok.py"}
    assert "def ok():" in doc["context"]


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("build", str(empty), "-b", "500", "--cache-dir", str(tmp_path / "c"))
    assert code == 1
    assert f"no files to pack under '{empty}'" in err


def test_folder_whose_files_are_all_left_out_says_why(tmp_path: Path) -> None:
    (tmp_path / "data.py").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.py").write_text("")
    code, _, err = run("build", str(tmp_path), "-b", "500")
    assert code == 1
    assert "no files to pack under" in err
    assert "every file was left out (1 binary file, 1 empty file)" in err


def test_binary_file_with_a_text_extension_is_skipped(root: Path) -> None:
    (root / "image.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    doc = build_json(root)
    assert paths_in(doc) == {"ok.py"}
    assert doc["stats"]["skipped"] == {"binary file": 1}


def test_invalid_utf8_is_read_as_latin1(root: Path) -> None:
    (root / "legacy.py").write_bytes(b'def greet():\n    return "caf\xe9 cr\xe8me"\n')
    doc = build_json(root, "--query", "greet")
    assert "legacy.py" in paths_in(doc)
    assert "café crème" in doc["context"]


def test_nul_bytes(root: Path) -> None:
    (root / "early.py").write_bytes(b"x = 1\x00\x00\x00y = 2\n")  # NULs up front: binary
    late = b"def late():\n    return 1\n" + b"# padding\n" * 1000 + b"z = '\x00'\n"
    (root / "late.py").write_bytes(late)  # a stray NUL far in: replaced, file kept
    doc = build_json(root, "--query", "late")
    assert "late.py" in paths_in(doc) and "early.py" not in paths_in(doc)
    assert doc["stats"]["skipped"] == {"binary file": 1}
    assert "\x00" not in doc["context"]


def test_a_1gb_file_is_skipped_without_being_read(root: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    huge = root / "huge.py"
    with open(huge, "wb") as fh:
        fh.truncate(1 << 30)  # sparse: no disk used
    real_open = sources_mod._open_source

    def guarded_open(fs: sources_mod.FileStat) -> int:
        assert fs.abspath != str(huge), "the 1 GB file was opened"
        return real_open(fs)

    monkeypatch.setattr(sources_mod, "_open_source", guarded_open)
    t = time.perf_counter()
    doc = build_json(root)
    assert time.perf_counter() - t < 20
    assert paths_in(doc) == {"ok.py"}
    assert doc["stats"]["skipped"] == {"too large": 1}


def test_minified_code_is_skipped_and_one_long_line_is_survived(root: Path) -> None:
    (root / "bundle.js").write_text("var a=1;" * 50_000)  # 400 kB on one line
    body = "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(200))
    (root / "data_blob.py").write_text(body + '\nBLOB = "' + "ab" * 15_000 + '"\n')
    doc = build_json(root, "--query", "f7")
    assert "bundle.js" not in paths_in(doc) and "data_blob.py" in paths_in(doc)
    assert doc["stats"]["skipped"] == {"minified or generated file": 1}
    assert doc["tokens"] <= 4000


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("parens.py", "x = " + "(\n" * 5000 + "1" + ")\n" * 5000 + "def after():\n    pass\n"),
        ("blocks.js", "function f() {\n" * 5000 + "}\n" * 5000 + "function after() {}\n"),
        ("arrays.js", "var x = " + "[\n" * 5000 + "]\n" * 5000 + ";\nfunction after() {}\n"),
        ("nested.json", "[\n" * 5000 + "]\n" * 5000 + '{"after": 1}\n'),
    ],
)
def test_deeply_nested_code_is_packed_not_dropped(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text)
    doc = build_json(root, "--query", "after")
    assert name in paths_in(doc)
    assert doc["stats"]["skipped"] == {}


def test_code_that_fails_to_parse_falls_back_to_line_windows(root: Path) -> None:
    (root / "broken.py").write_text("}}} ((( def class ]]] unparsable_marker\n" * 50)
    code, out, err = run("build", str(root), "-b", "8000", "-f", "json", "-q",
                         "--query", "unparsable_marker")
    assert code == 0, err
    doc = json.loads(out)
    assert "broken.py" in paths_in(doc)
    assert "unparsable_marker" in doc["context"]
    assert {i["kind"] for i in doc["items"] if i["path"] == "broken.py"} == {"lines"}


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """chmod 000; where that does not stop reads (tests running as root), make reads of
    that path fail the way they would, so the handling is tested either way."""
    modes: list[tuple[Path, int]] = []

    def deny_path(path: Path) -> None:
        modes.append((path, path.stat().st_mode))
        path.chmod(0)
        try:
            if path.is_dir():
                os.listdir(path)
            else:
                open(path, "rb").close()
        except PermissionError:
            return  # chmod is enough
        target = os.path.realpath(path)

        def refuse(p: object) -> None:
            if os.path.realpath(os.fspath(p)) == target:  # type: ignore[arg-type]
                raise PermissionError(13, "Permission denied", p)

        if path.is_dir():
            real_scandir = os.scandir

            def scandir(p: object = ".") -> object:
                refuse(p)
                return real_scandir(p)  # type: ignore[call-overload]

            monkeypatch.setattr(os, "scandir", scandir)
        else:
            real_open = sources_mod._open_source

            def fake_open(fs: sources_mod.FileStat) -> int:
                refuse(fs.abspath)
                return real_open(fs)

            monkeypatch.setattr(sources_mod, "_open_source", fake_open)

    yield deny_path
    for path, mode in reversed(modes):
        path.chmod(mode)


def test_unreadable_file_and_folder_are_skipped_with_a_reason(
        root: Path, deny: Callable[[Path], None]) -> None:
    (root / "private.py").write_text("def private():\n    return 0\n")
    (root / "locked").mkdir()
    (root / "locked" / "inner.py").write_text("def inner():\n    return 0\n")
    deny(root / "private.py")
    deny(root / "locked")
    doc = build_json(root, "--no-cache")
    assert paths_in(doc) == {"ok.py"}
    assert doc["stats"]["skipped"] == {"unreadable folder: permission denied": 1,
                                       "unreadable: permission denied": 1}


def test_unreadable_root_folder_is_a_clear_error(root: Path, deny: Callable[[Path], None]) -> None:
    deny(root)
    code, _, err = run("build", str(root), "-b", "500", "--no-cache")
    assert code == 1
    assert "permission denied" in err


def test_symlink_loops_are_skipped(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)
    (root / "self.py").symlink_to(root / "self.py")  # a link to itself
    doc = build_json(root)
    assert paths_in(doc) == {"ok.py"}
    assert doc["stats"]["skipped"] == {"symlink loop": 2}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_skipped_not_read(root: Path) -> None:
    os.mkfifo(root / "pipe.py")  # reading it would block forever
    doc = build_json(root)
    assert paths_in(doc) == {"ok.py"}
    assert doc["stats"]["skipped"] == {"not a regular file": 1}
    code, _, err = run("build", str(root / "pipe.py"), "-b", "500")
    assert code == 1 and "neither a file nor a folder" in err


@pytest.mark.parametrize("budget", ["0", "-5"])
def test_zero_or_negative_budget(root: Path, budget: str) -> None:
    code, _, err = run("build", str(root), "-b", budget)
    assert code == 1
    assert f"budget must be a positive number of tokens, not {budget}" in err


def test_budget_that_is_not_a_number(root: Path) -> None:
    code, _, err = run("build", str(root), "-b", "lots")
    assert code == 2
    assert "'lots' is not a valid integer" in err


def test_unknown_encoding(root: Path) -> None:
    code, _, err = run("build", str(root), "-b", "500", "--encoding", "utf-9000")
    assert code == 1
    assert "unknown encoding 'utf-9000'" in err


def test_unknown_format(root: Path) -> None:
    code, _, err = run("build", str(root), "-b", "500", "--format", "yaml")
    assert code == 2
    assert "'yaml' is not one of 'markdown', 'xml', 'json'" in err
