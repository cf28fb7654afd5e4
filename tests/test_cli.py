"""The command line, through click's CliRunner and (for start-up cost) a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from contextpack.cli import main
from contextpack.tokens import get_tokenizer


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_build_json_contract(repo: Path) -> None:
    code, out, err = run("build", str(repo), "--budget", "1500", "--query", "greet people",
                         "--format", "json", "-q")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["tokens"] == get_tokenizer().count(doc["context"]) <= 1500
    assert doc["items"]
    assert (repo / ".contextpack" / ".gitignore").exists()


def test_build_from_query_file_to_output_file(repo: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.txt"
    q.write_text("how are numbers added?\n")
    out = tmp_path / "context.md"
    code, stdout, err = run("build", str(repo), "-b", "800", "--query-file", str(q),
                            "-o", str(out), "-q")
    assert code == 0, err
    assert stdout == ""
    text = out.read_text()
    assert text.startswith("# Context: ")
    assert get_tokenizer().count(text) <= 800


def test_query_and_query_file_together_is_a_usage_error(repo: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.txt"
    q.write_text("x")
    code, _, err = run("build", str(repo), "-b", "800", "--query", "x", "--query-file", str(q))
    assert code == 2
    assert "not both" in err


def test_missing_path_and_small_budget_are_clear_errors(repo: Path, tmp_path: Path) -> None:
    code, _, err = run("build", str(tmp_path / "missing"), "-b", "800", "--query", "x")
    assert code == 1
    assert "does not exist" in err and "Traceback" not in err
    code, _, err = run("build", str(repo), "-b", "10", "--query", "x", "-q")
    assert code == 1
    assert "smaller than the header" in err


def test_unknown_encoding_fails_fast(repo: Path) -> None:
    code, _, err = run("build", str(repo), "-b", "800", "--query", "x", "--encoding", "nope")
    assert code == 1
    assert "unknown encoding 'nope'" in err


def test_index_then_stats(repo: Path) -> None:
    code, _, err = run("index", str(repo))
    assert code == 0, err
    assert "indexed 15 files" in err
    code, out, err = run("stats", str(repo), "-q")
    assert code == 0, err
    assert "fits in common context windows" in out
    assert "8k: fits" in out
    assert "sample.py" in out


def test_index_json_reports_stage_seconds(repo: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    code, out, err = run("index", str(repo), "--json", "-q", "--cache-dir", cache)
    assert code == 0, err
    cold = json.loads(out)
    assert cold["cache"] == "cold" and cold["files"] == 15 and cold["files_reindexed"] == 15
    assert {"scan", "read", "map", "rows", "assemble", "write",
            "total"} <= set(cold["seconds"])
    code, out, _ = run("index", str(repo), "--json", "-q", "--cache-dir", cache)
    assert json.loads(out)["cache"] == "warm" and json.loads(out)["files_reindexed"] == 0


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from contextpack.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(main, ['build', '--help']).exit_code == 0\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'numpy', 'tiktoken',"
        " 'tree_sitter') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m(repo: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "contextpack", "--version"],
                         capture_output=True, text=True, check=True)
    assert "contextpack" in out.stdout


def test_each_command_lists_only_the_options_it_uses() -> None:
    """stats counts tokens and ranks nothing: --embedder is no option of it."""
    helps = {cmd: CliRunner().invoke(main, [cmd, "--help"]).output
             for cmd in ("build", "index", "stats", "mcp")}
    assert "--embedder" not in helps["stats"]
    assert all("--embedder" in helps[cmd] for cmd in ("build", "index", "mcp"))
    assert CliRunner().invoke(main, ["stats", ".", "--embedder", "none"]).exit_code == 2


def test_build_help_states_the_apis_default_budget() -> None:
    from contextpack.models import DEFAULT_BUDGET

    out = CliRunner().invoke(main, ["build", "--help"], terminal_width=200).output
    assert f"context window, else {DEFAULT_BUDGET}]" in out
