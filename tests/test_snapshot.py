"""Snapshots: configuration, determinism, small diffs, --check, and the pre-commit hook."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextpack.api import Packer, Settings
from contextpack.cli import main
from contextpack.config import SnapshotSpec, load_config
from contextpack.errors import ConfigError
from contextpack.fit import PackOptions
from contextpack.snapshot import _parse_selection, headroom, selection, snapshot
from contextpack.tokens import get_tokenizer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ".contextpack/snapshot.md"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_config(repo: Path, text: str, name: str = ".contextpack.toml") -> None:
    (repo / name).write_text(text)


# ------------------------------------------------------------------ configuration
def test_no_configuration_means_a_16000_token_map(tmp_path: Path) -> None:
    cfg = load_config(tmp_path)
    assert cfg.snapshots == (SnapshotSpec(DEFAULT, "", 16000, "markdown"),)
    assert cfg.embedder == "none"  # a map needs no vectors


def test_pyproject_table_and_standing_queries(tmp_path: Path) -> None:
    write_config(tmp_path, """
[project]
name = "x"

[tool.contextpack]
budget = 8000
format = "xml"
output = "docs/CONTEXT.xml"
exclude = ["tests/"]

[[tool.contextpack.queries]]
query = "public API"
output = "docs/context/api.xml"
budget = 3000

[[tool.contextpack.queries]]
query = "how requests are routed"
output = "docs/context/routing.md"
format = "markdown"
""", "pyproject.toml")
    cfg = load_config(tmp_path)
    assert cfg.source.endswith("pyproject.toml")
    assert cfg.snapshots == (
        SnapshotSpec("docs/CONTEXT.xml", "", 8000, "xml"),
        SnapshotSpec("docs/context/api.xml", "public API", 3000, "xml"),
        SnapshotSpec("docs/context/routing.md", "how requests are routed", 8000, "markdown"),
    )
    assert cfg.exclude == ("tests/",)
    assert cfg.embedder == "static"  # queries rank better with vectors


def test_own_file_wins_and_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    write_config(tmp_path, "[project]\nname = 'x'\n", "pyproject.toml")
    assert load_config(tmp_path).source == ""
    write_config(tmp_path, "[tool.contextpack]\nbudget = 5\n", "pyproject.toml")
    write_config(tmp_path, "budget = 7000\n")
    assert load_config(tmp_path).snapshots[0].budget == 7000


@pytest.mark.parametrize(("text", "message"), [
    ("budgt = 100\n", r"\.contextpack\.toml: unknown key 'budgt'; did you mean 'budget'\?"),
    ("[[queries]]\nquery = 'x'\noutput = 'a.md'\nbudjet = 4\n",
     r"\.contextpack\.toml queries #1: unknown key 'budjet'"),
    ("budget = 0\n", r"'budget' must be a positive whole number of tokens, not 0"),
    ("budget = '16k'\n", r"'budget' must be a positive whole number of tokens, not '16k'"),
    ("format = 'html'\n", r"'format' is 'html'; choose one of markdown, xml, json"),
    ("embedder = 'bert'\n", r"'embedder' is 'bert'; choose one of static, minilm, none"),
    ("exclude = [1]\n", r"'exclude' must be an array of glob strings"),
    ("output = '/abs/CONTEXT.md'\n", r"absolute path '/abs/CONTEXT.md'; give a path relative"),
    ("output = '../CONTEXT.md'\n", r"not a file inside the repository"),
    ("map = false\n", r"nothing to write"),
    ("[[queries]]\nquery = 'x'\n", r"queries #1: missing 'output'"),
    ("[[queries]]\nquery = ' '\noutput = 'a.md'\n", r"'query' must be non-empty text"),
    ("output = 'a.md'\n[[queries]]\nquery = 'x'\noutput = 'A.md'\n",
     r"two snapshots write 'A.md'"),
    ("budget = \n", r"\.contextpack\.toml is not valid TOML"),
])
def test_bad_configuration_names_the_file_and_the_key(tmp_path: Path, text: str,
                                                      message: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_pyproject_errors_name_the_table(tmp_path: Path) -> None:
    write_config(tmp_path, "[tool.contextpack]\nouptut = 'x.md'\n", "pyproject.toml")
    with pytest.raises(ConfigError, match=r"pyproject\.toml \[tool\.contextpack\]: unknown key "
                                          r"'ouptut'; did you mean 'output'\?") as err:
        load_config(tmp_path)
    assert err.value.value == "ouptut"


def test_cli_reports_a_bad_configuration_in_one_line(repo: Path) -> None:
    write_config(repo, "budget = -1\n")
    code, out, err = run("snapshot", str(repo))
    assert code == 1 and out == ""
    assert "'budget' must be a positive whole number" in err and "Traceback" not in err


# -------------------------------------------------------- determinism and writing
def test_default_snapshot_is_deterministic_and_relative(repo: Path) -> None:
    first = snapshot(repo)
    assert [(r.output, r.stale, r.written) for r in first] == [(DEFAULT, True, True)]
    data = (repo / DEFAULT).read_bytes()
    text = data.decode()
    assert text.startswith("# Context: ") and "No query: ranked by structure" in text
    assert str(repo) not in text and str(Path.home()) not in text
    assert get_tokenizer().count(text) == first[0].tokens <= 16000
    again = snapshot(repo)
    assert [(r.stale, r.written) for r in again] == [(False, False)]
    assert (repo / DEFAULT).read_bytes() == data
    # A fresh cache gives the same bytes: nothing depends on the run's history but the file.
    shutil.rmtree(repo / ".contextpack" / "roots")
    assert not snapshot(repo)[0].stale


def test_the_snapshot_never_feeds_on_itself(repo: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "CONTEXT.md").write_text("# Nested\n\nA nested file of the same name.\n")
    write_config(repo, "output = 'CONTEXT.md'\nbudget = 6000\n"
                       "[[queries]]\nquery = 'greet people'\noutput = 'docs/greet.md'\n"
                       "budget = 1500\n")
    results = snapshot(repo)
    assert [r.output for r in results] == ["CONTEXT.md", "docs/greet.md"]
    text = (repo / "CONTEXT.md").read_text()
    assert "## CONTEXT.md" not in text and "## docs/greet.md" not in text
    assert "## sub/CONTEXT.md" in text  # only the exact output path is left out
    assert "Query: greet people" in (repo / "docs" / "greet.md").read_text()
    assert not any(r.stale for r in snapshot(repo))


def test_json_and_xml_snapshots(repo: Path) -> None:
    write_config(repo, "format = 'json'\nbudget = 3000\n"
                       "[[queries]]\nquery = 'add numbers'\noutput = 'ctx.xml'\nformat = 'xml'\n")
    snapshot(repo)
    doc = json.loads((repo / ".contextpack" / "snapshot.json").read_text())
    assert doc["tokens"] <= 3000 and doc["items"] and "seconds" not in doc["stats"]
    assert (repo / "ctx.xml").read_text().startswith("<context ")
    assert not any(r.stale for r in snapshot(repo))


def test_an_interrupted_write_leaves_the_old_snapshot(repo: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot(repo)
    old = (repo / DEFAULT).read_bytes()
    (repo / "sample.py").write_text((repo / "sample.py").read_text() + "\n\ndef extra():\n"
                                    "    return add(1, 1)\n")

    def boom(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        snapshot(repo)
    assert (repo / DEFAULT).read_bytes() == old
    assert sorted(p.name for p in (repo / ".contextpack").iterdir()
                  if p.name.endswith(".tmp")) == []


def test_crlf_checkout_is_not_stale(repo: Path) -> None:
    snapshot(repo)
    path = repo / DEFAULT
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert not snapshot(repo, check=True)[0].stale


# ------------------------------------------------------------------ the CLI contract
def test_cli_exit_codes_follow_pre_commit(repo: Path) -> None:
    code, out, err = run("snapshot", str(repo))
    assert (code, out) == (1, "")
    assert f"contextpack: updated {DEFAULT} (" in err
    code, out, err = run("snapshot", str(repo))
    assert (code, out, err) == (0, "", "")  # silent when nothing changed


def test_check_names_stale_files_and_changes_nothing(repo: Path) -> None:
    write_config(repo, "budget = 4000\nembedder = 'none'\n"
                       "[[queries]]\nquery = 'greet'\noutput = 'docs/greet.md'\nbudget = 1000\n")
    assert run("snapshot", str(repo))[0] == 1
    assert run("snapshot", str(repo), "--check")[0] == 0
    target = repo / "docs" / "greet.md"
    map_file = repo / DEFAULT
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (target, map_file)}
    sample = repo / "sample.py"
    sample.write_text(sample.read_text().replace('"""Build the greeting."""',
                                                 '"""Build the greeting for everyone."""'))
    code, out, err = run("snapshot", str(repo), "--check")
    assert (code, out) == (1, "")
    assert f"contextpack: {DEFAULT} is out of date" in err
    assert "contextpack: docs/greet.md is out of date" in err
    assert "run `contextpack snapshot`" in err
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    target.unlink()
    code, _, err = run("snapshot", str(repo), "--check", "-q")
    assert code == 1 and "docs/greet.md is out of date" in err  # failures speak even with -q
    assert not target.exists()


# --------------------------------------------------------------- small, stable diffs
def _blocks(text: str) -> dict[tuple[int, int], str]:
    """Line spans of the rendered file -> the item (path and label) they belong to."""
    out: dict[tuple[int, int], str] = {}
    lines = text.split("\n")
    path, start, label = "", 0, ""
    fence = ""  # inside a whole file's block: its fence, until it closes
    for n, line in enumerate(lines):
        if fence:
            fence = "" if line == fence else fence
        elif line.startswith("## "):
            path = line[3:]
            opening = lines[n + 2] if n + 2 < len(lines) else ""
            if opening.startswith("```"):  # a file packed whole: one block, no labels
                if label:
                    out[start, n] = label
                start, label = n, f"{path} (whole file)"
                fence = opening.rstrip("abcdefghijklmnopqrstuvwxyz+")  # ```go -> ```
        elif re.match(r"^(- )?L\d+", line):
            if label:
                out[start, n] = label
            start, label = n, f"{path} {line}"
    out[start, len(lines)] = label
    return out


def _owner(blocks: dict[tuple[int, int], str], line: int) -> str:
    for (a, b), label in blocks.items():
        if a <= line < b:
            return label
    return "header"


@pytest.mark.parametrize("budget", [1400, 2000, 2600, 16000])
def test_a_one_line_edit_changes_only_its_item(repo: Path, budget: int) -> None:
    write_config(repo, f"budget = {budget}\n")
    snapshot(repo)
    before = (repo / DEFAULT).read_text()
    packer = Packer(repo, Settings(embedder="none", pack=PackOptions(fill=False)))
    edits = 0
    for item in sorted(packer.pack("", budget).items, key=lambda i: -i.score):
        c = item.chunk
        if item.view != "full" or c.kind not in ("function", "method") or c.end_line - \
                c.start_line < 2 or c.language not in ("python", "javascript", "go", "rust"):
            continue
        comment = "#" if c.language == "python" else "//"
        file = repo / c.path
        original = file.read_text()
        lines = original.split("\n")
        lines[c.start_line] += f"  {comment} one more word"  # the line below the signature
        file.write_text("\n".join(lines))
        snapshot(repo)
        after = (repo / DEFAULT).read_text()
        file.write_text(original)
        blocks = _blocks(before)
        matcher = difflib.SequenceMatcher(None, before.split("\n"), after.split("\n"))
        touched = {_owner(blocks, i) for op, i1, i2, _, _ in matcher.get_opcodes()
                   if op != "equal" for i in range(i1, max(i2, i1 + 1))}
        assert touched <= {"header", f"{c.path} L{c.start_line}-{c.end_line} {c.kind} "
                                     f"{c.label}", f"{c.path} (whole file)"}, \
            (c.path, c.label, touched)
        assert len([ln for ln in difflib.unified_diff(before.split("\n"), after.split("\n"),
                                                      n=0, lineterm="")
                    if ln.startswith("+") and not ln.startswith("+++")]) <= 3
        snapshot(repo)  # back to the original tree: back to the original bytes
        assert (repo / DEFAULT).read_text() == before
        edits += 1
        if edits == 4:
            break
    assert edits >= 2


def test_growth_within_the_headroom_keeps_the_previous_choice(repo: Path) -> None:
    budget = 2000
    write_config(repo, f"budget = {budget}\n")
    (first,) = snapshot(repo)
    before = (repo / DEFAULT).read_text()
    settings = Settings(embedder="none", pack=PackOptions(fill=False, headroom=headroom(budget)))
    prior = selection(Packer(repo, settings).pack("", budget).items)
    top = max((i for i in Packer(repo, settings).pack("", budget).items
               if i.view == "full" and i.chunk.language == "python"
               and i.chunk.kind in ("function", "method")), key=lambda i: i.score)
    # Grow the best function past what a fresh pack leaves free, but within the headroom.
    slack = budget - headroom(budget) - first.tokens
    words = " grow" * (slack + headroom(budget) // 2)
    file = repo / top.chunk.path
    lines = file.read_text().split("\n")
    lines[top.chunk.start_line] += f"  #{words}"
    file.write_text("\n".join(lines))
    fresh = Packer(repo, settings).pack("", budget)
    assert selection(fresh.items) != prior  # without the prior, the margin would move
    (second,) = snapshot(repo)
    after = (repo / DEFAULT).read_text()
    assert second.stale and second.tokens <= budget
    assert _parse_selection(after.encode(), "markdown") == prior
    added = [ln for ln in difflib.unified_diff(before.split("\n"), after.split("\n"), n=0,
                                               lineterm="")
             if ln.startswith("+") and not ln.startswith("+++")]
    assert len(added) == 2  # the token count in the header, and the edited line
    assert added[0].startswith("+# Context: ") and added[1].endswith(words)
    assert not snapshot(repo, check=True)[0].stale  # a fixed point: CI's --check agrees
    # Past the headroom, the pack is chosen afresh, and still fits.
    lines[top.chunk.start_line] += words * 4
    file.write_text("\n".join(lines))
    (third,) = snapshot(repo)
    assert third.stale and third.tokens <= budget
    assert _parse_selection((repo / DEFAULT).read_bytes(), "markdown") != prior


@pytest.mark.parametrize("fmt", ["markdown", "xml", "json"])
def test_a_snapshot_reads_back_its_own_selection(session_repo: Path, fmt: str) -> None:
    packer = Packer(session_repo, Settings(embedder="none", use_cache=False,
                                           pack=PackOptions(fill=False)))
    for budget in (300, 1200, 2500):
        pack = packer.pack("", budget, fmt)
        assert _parse_selection(pack.text.encode(), fmt) == selection(pack.items)
    hand_edited = b"# hand-edited\n\n## a.py\n\nL3-4 function f\nno fence\n"
    assert _parse_selection(hand_edited, "markdown") is None
    assert _parse_selection(b"{not json", "json") is None


@pytest.fixture(scope="module")
def prefix_packer(session_repo: Path) -> Packer:
    return Packer(session_repo, Settings(embedder="none", use_cache=False,
                                         pack=PackOptions(fill=False)))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=120, max_value=5000), room=st.integers(0, 400),
       fmt=st.sampled_from(["markdown", "xml"]))
def test_prefix_packing_fits_and_grows_with_the_room(prefix_packer: Packer, budget: int,
                                                      room: int, fmt: str) -> None:
    def pack_with(headroom: int):  # type: ignore[no-untyped-def]
        prefix_packer.settings = Settings(embedder="none", use_cache=False,
                                          pack=PackOptions(fill=False, headroom=headroom))
        return prefix_packer.pack("", budget, fmt)

    wide, narrow = pack_with(0), pack_with(room)
    enc = get_tokenizer()
    assert enc.count(wide.text) == wide.tokens <= budget
    assert narrow.tokens <= max(budget - room, 0) or not narrow.items
    a, b = selection(narrow.items), selection(wide.items)
    assert all(b.get(k, -1) >= v for k, v in a.items())  # less room: a subset, never other items


# ------------------------------------------------------------- the pre-commit hook
def test_pre_commit_hooks_manifest_is_valid() -> None:
    from pre_commit.clientlib import load_manifest

    manifest = ROOT / ".pre-commit-hooks.yaml"
    hooks = load_manifest(str(manifest))  # pre-commit's own schema check
    (hook,) = [h for h in hooks if h["id"] == "contextpack-snapshot"]
    assert hook["entry"] == "contextpack snapshot"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False and hook["always_run"] is True
    raw = yaml.safe_load(manifest.read_text())
    assert [h["id"] for h in raw] == ["contextpack-snapshot"]


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check,
                          env=_env(repo))


def _env(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CONTEXTPACK_CACHE_DIR", None)
    env["PRE_COMMIT_HOME"] = str(repo.parent / "pre-commit-home")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["HOME"] = str(repo.parent)  # no user-level git hooks or signing settings
    return env


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_hook_refreshes_the_snapshot_on_commit(repo: Path) -> None:
    pytest.importorskip("pre_commit")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Test")
    _git(repo, "config", "user.email", "test@example.com")
    _git(repo, "config", "commit.gpgsign", "false")
    (repo / ".contextpack.toml").write_text("output = 'docs/CONTEXT.md'\nbudget = 2500\n")
    # A local hook running this checkout: a `repo:` hook with `language: python` would have
    # pre-commit build a virtualenv and install contextpack with torch into it.
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{
        "repo": "local",
        "hooks": [{"id": "contextpack-snapshot", "name": "contextpack snapshot",
                   "entry": f"{sys.executable} -m contextpack snapshot",
                   "language": "system", "pass_filenames": False, "always_run": True}],
    }]}))
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True,
                   capture_output=True, env=_env(repo))
    _git(repo, "add", "-A")

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        return _git(repo, "commit", "-q", "-m", message, check=False)

    first = commit("first")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "updated docs/CONTEXT.md" in first.stdout + first.stderr
    snap = repo / "docs" / "CONTEXT.md"
    assert "## sample.py" in snap.read_text()
    _git(repo, "add", "docs/CONTEXT.md")
    second = commit("first")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _git(repo, "status", "--porcelain").stdout == ""  # the cache stays out of git

    sample = repo / "sample.py"
    sample.write_text(sample.read_text().replace("    return a + b\n",
                                                 "    return b + a  # commutative\n"))
    _git(repo, "add", "sample.py")
    before = snap.read_text()
    assert commit("edit").returncode == 1
    after = snap.read_text()
    assert "return b + a  # commutative" in after and after != before
    _git(repo, "add", "docs/CONTEXT.md")
    assert commit("edit").returncode == 0
    assert _git(repo, "status", "--porcelain").stdout == ""
    assert "docs/CONTEXT.md" in _git(repo, "show", "--name-only", "HEAD").stdout
    check = subprocess.run([sys.executable, "-m", "contextpack", "snapshot", "--check"],
                           cwd=repo, capture_output=True, text=True, env=_env(repo))
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
