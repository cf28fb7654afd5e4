"""The Python API: sources of every kind, budgets from models, a model's own tokenizer,
token accounting, the usage log, and the curated public surface."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contextpack
from contextpack.api import Packer, Settings, pack
from contextpack.cli import main
from contextpack.embed import minilm_path
from contextpack.errors import BudgetError, ConfigError, SourceError
from contextpack.models import DEFAULT_BUDGET, MODELS, PRICES_AS_OF, context_budget, get_model
from contextpack.tokens import get_tokenizer
from contextpack.types import Document
from contextpack.usage import USAGE_LOG_ENV, query_hash

from .conftest import FIXTURES, LANGUAGES

MINILM_TOKENIZER = str(minilm_path() / "tokenizer.json")
ADD = "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n"


def context_of(p: contextpack.Pack) -> str:
    return json.loads(p.text)["context"] if p.format == "json" else p.text


# ------------------------------------------------------------------ the surface
def test_all_is_sorted_and_every_name_imports() -> None:
    assert contextpack.__all__ == sorted(contextpack.__all__)
    for name in contextpack.__all__:
        assert getattr(contextpack, name) is not None, name
    assert callable(contextpack.pack) and callable(contextpack.compress)


def test_import_is_light_and_leaves_frameworks_out() -> None:
    code = ("import sys, contextpack; from contextpack import Pack, Document, get_model; "
            "heavy = ['numpy', 'torch', 'sentence_transformers', 'tiktoken', 'tree_sitter', "
            "'faiss', 'langchain_core', 'llama_index', 'tokenizers', 'transformers']; "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_pack_stays_the_function_after_every_stage_module_is_imported() -> None:
    import contextpack.fit  # noqa: F401
    import contextpack.index  # noqa: F401

    assert callable(contextpack.pack) and contextpack.pack.__module__ == "contextpack.api"


# ------------------------------------------------------------------ sources
def test_one_path_is_packed_as_before(session_repo: Path) -> None:
    p = contextpack.pack("add two numbers", session_repo, 900, cache=False)
    assert p.tokens == get_tokenizer().count(p.text) <= p.budget == 900
    assert "sample.py" in {i.path for i in p.items}


def test_several_roots_are_merged_under_their_names(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "src", tmp_path / "b" / "src"
    for root, name in ((a, "math_ops.py"), (b, "strings.py")):
        root.mkdir(parents=True)
        (root / name).write_text(ADD if name == "math_ops.py" else "def shout(s):\n    "
                                 "return s.upper()\n")
    single = tmp_path / "notes.md"
    single.write_text("# Notes\n\nAdding numbers is done by add.\n")
    packer = Packer([a, b, single], Settings(use_cache=False))
    assert sorted(packer.index.paths) == ["a/src/math_ops.py", "b/src/strings.py", "notes.md"]
    p = packer.pack("add two numbers", 600)
    assert "a/src/math_ops.py" in {i.path for i in p.items}
    assert p.tokens == get_tokenizer().count(p.text) <= 600


def test_a_merged_index_ranks_like_one_built_whole(tmp_path: Path) -> None:
    """Merging keeps chunks, terms, counts and redactions: the same files give the same
    pack. (Lexical ranking only: each root's vectors embed paths relative to that root.)"""
    import shutil

    whole = tmp_path / "whole"
    shutil.copytree(LANGUAGES, whole / "languages")
    shutil.copytree(FIXTURES / "secrets", whole / "secrets")
    merged = Packer([whole / "languages", whole / "secrets"],
                    Settings(use_cache=False, embedder="none"))
    built = Packer(whole, Settings(use_cache=False, embedder="none"))
    assert merged.index.paths == built.index.paths
    assert merged.index.total_tokens() == built.index.total_tokens()
    for q in ("greet people", "database password", ""):
        assert merged.pack(q, 1200, "json").text == built.pack(q, 1200, "json").text
    with_vectors = Packer([whole / "languages", whole / "secrets"], Settings(use_cache=False))
    vectors = with_vectors.index.dense_vectors()
    assert vectors is not None and with_vectors.embedder is not None
    assert vectors.shape == (with_vectors.index.n_chunks, with_vectors.embedder.dimension)


class LangChainLike:
    def __init__(self, text: str, source: str) -> None:
        self.page_content = text
        self.metadata = {"source": source}
        self.id = None


class LlamaLike:
    def __init__(self, text: str) -> None:
        self._text = text
        self.metadata: dict[str, str] = {}
        self.node_id = "0f8e-uuid"

    def get_content(self) -> str:
        return self._text


def test_documents_of_every_shape_mix_with_paths(session_repo: Path) -> None:
    sources = [
        Path(session_repo / "sample.go"),
        str(session_repo / "sample.rb"),  # a one-line str naming a file is a path
        "Plain text about routing requests.",
        Document(text=ADD, id="calc/ops.py"),
        LangChainLike("class Router:\n    def route(self, path):\n        return path\n",
                      "web/router.py"),
        LlamaLike("Paris is the capital of France."),
        {"text": "A mapping with text.", "metadata": {"url": "https://example.org/x"}},
    ]
    packer = Packer(sources, Settings(use_cache=False))
    assert set(packer.index.paths) >= {"sample.go", "sample.rb", "calc/ops.py",
                                       "web/router.py", "0f8e-uuid", "https://example.org/x"}
    assert packer.document_paths[0] == "doc-0001"
    languages = dict(zip(packer.index.paths, packer.index.languages, strict=True))
    assert languages["calc/ops.py"] == "python" and languages["web/router.py"] == "python"
    p = packer.pack("add two numbers", 500)
    assert "calc/ops.py" in {i.path for i in p.items}


def test_documents_sharing_an_id_stay_apart() -> None:
    docs = [Document(text=ADD, id="m.py"), Document(text="def sub(a, b):\n    return a - b\n",
                                                   id="m.py")]
    packer = Packer(docs, Settings(use_cache=False))
    assert packer.document_paths == ["m.py", "m.py#2"]
    assert packer.index.languages == ["python", "python"]


@pytest.mark.parametrize("bad, message", [
    ([], "no sources given"),
    ([object()], "cannot pack a object"),
    ([Path("/no/such/folder")], "does not exist"),
    (42, "cannot pack a int"),
    ([{"metadata": {}}], "cannot pack a dict"),
])
def test_bad_sources_are_clear_errors(bad: object, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        Packer(bad, Settings(use_cache=False))  # type: ignore[arg-type]


def test_packer_options_override_settings_and_reject_unknown_ones(session_repo: Path) -> None:
    packer = Packer(session_repo, use_cache=False, embedder="none", model="gpt-4o-mini")
    assert packer.settings.embedder == "none" and packer.tokenizer.name == "o200k_base"
    with pytest.raises(ConfigError, match="unknown option 'budget'"):
        Packer(session_repo, use_cache=False, budget=3)


def test_a_packer_answers_many_queries_from_one_index(session_repo: Path) -> None:
    packer = Packer(session_repo, Settings(use_cache=False))
    index = packer.index
    for q in ("greet people", "add numbers", "", "setext heading"):
        p = packer.pack(q, 700)
        assert p.tokens <= 700 and p.items
    assert packer.index is index


# ------------------------------------------------------------------ budgets
def test_a_model_gives_the_budget_the_encoding_and_the_price(session_repo: Path) -> None:
    p = contextpack.pack("greet people", session_repo, model="gpt-4o",
                         reserve=127_000, cache=False)
    assert p.budget == 128_000 - 127_000 and p.encoding == "o200k_base"
    assert p.tokens == get_tokenizer("o200k_base").count(p.text) <= p.budget
    assert p.model == "gpt-4o" and p.reserve_output_tokens == 127_000
    cost = p.stats["cost"]
    assert cost["prices_as_of"] == PRICES_AS_OF and cost["estimate"] is True
    assert cost["pack_usd"] == round(p.tokens * 2.50 / 1e6, 6)
    assert cost["sources_usd"] == round(p.source_tokens * 2.50 / 1e6, 6)
    assert p.stats["window"] == {"model": "gpt-4o", "total": 128_000,
                                 "reserve_output_tokens": 127_000, "context": 1000,
                                 "margin": 0.0, "budget": 1000}


def test_budget_rules() -> None:
    assert context_budget(None, None) == 8000
    assert context_budget(5000, None, 1000) == 4000
    assert context_budget(None, "gpt-4o-mini", 4000) == 124_000
    assert context_budget(1000, "gpt-4", 0) == 1000
    with pytest.raises(BudgetError, match="larger than gpt-4's context window"):
        context_budget(9000, "gpt-4")
    with pytest.raises(BudgetError, match="leaves no room"):
        context_budget(1000, None, 1000)
    with pytest.raises(ConfigError, match="must not be negative"):
        context_budget(1000, None, -1)


def test_model_names() -> None:
    assert get_model("GPT-4o-2024-08-06").name == "gpt-4o"
    assert get_model("openai/gpt-4o-mini").name == "gpt-4o-mini"
    assert get_model("claude-3-5-haiku-20241022").name == "claude-3-5-haiku"
    assert get_model("meta-llama/Llama-3.1-8B-Instruct").name == "llama-3.1-8b"
    with pytest.raises(ConfigError, match="unknown model 'gpt-7'; did you mean .*gpt-4o"):
        get_model("gpt-7")
    assert all(m.context_window > 0 for m in MODELS.values())
    assert all(m.input_usd_per_mtok is None or m.input_usd_per_mtok > 0
               for m in MODELS.values())


def test_an_unknown_model_fails_before_indexing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown model"):
        contextpack.pack("x", tmp_path / "missing", model="gpt-7")


def test_a_model_without_a_public_encoding_is_counted_approximately(
        session_repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="contextpack"):
        p = contextpack.pack("greet", session_repo, 900, model="claude-sonnet-4", cache=False)
    assert p.encoding == "cl100k_base" and "approximation" in caplog.text
    assert p.stats["cost"]["exact_tokenizer"] is False
    open_weights = contextpack.pack("greet", session_repo, 900, model="llama-3.1-8b",
                                    tokenizer=MINILM_TOKENIZER, cache=False)
    assert open_weights.encoding.startswith("hf:")
    assert open_weights.stats["cost"]["pack_usd"] is None


# ------------------------------------------------------------------ tokenizers
@pytest.fixture(scope="module")
def hf_packer(tmp_path_factory: pytest.TempPathFactory) -> Packer:
    import shutil

    root = tmp_path_factory.mktemp("hf") / "repo"
    shutil.copytree(LANGUAGES, root)
    return Packer(root, Settings(use_cache=False, tokenizer=MINILM_TOKENIZER))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=1, max_value=3000),
       query=st.sampled_from(["", "add two numbers", "Greeter.greet", "setext heading"]),
       fmt=st.sampled_from(["markdown", "xml", "json"]))
def test_budget_holds_for_a_hugging_face_tokenizer_over_paths(hf_packer: Packer, budget: int,
                                                              query: str, fmt: str) -> None:
    tok = get_tokenizer(tokenizer_file=MINILM_TOKENIZER)
    try:
        p = hf_packer.pack(query, budget, fmt)
    except BudgetError as exc:
        assert "smaller than the header" in str(exc)
        return
    assert p.encoding == tok.name
    assert tok.count(context_of(p)) == p.tokens <= budget


words = st.sampled_from(["def", "add", "(a, b):", "return", "a + b", "class", "Router", ":",
                         "\n", "\n\n", "    ", "# Title", "routing", "requests", "é", "日本",
                         "numbers", "greet", "people", "=", "\"\"\"doc\"\"\"", "{", "}"])
doc_text = st.lists(words, min_size=1, max_size=120).map(" ".join)
doc_ids = st.sampled_from(["", "a.py", "b.md", "c.txt", "a.py", "web/x.go"])


@settings(max_examples=40, deadline=None)
@given(docs=st.lists(st.tuples(doc_text, doc_ids), min_size=1, max_size=6),
       budget=st.integers(min_value=1, max_value=1500),
       hf=st.booleans(), query=st.sampled_from(["", "add numbers", "routing requests"]))
def test_budget_holds_through_the_api_for_documents(docs: list[tuple[str, str]], budget: int,
                                                    hf: bool, query: str) -> None:
    tokenizer = MINILM_TOKENIZER if hf else None
    tok = get_tokenizer(tokenizer_file=tokenizer)
    try:
        p = contextpack.pack(query, [Document(text=t, id=i) for t, i in docs], budget,
                             tokenizer=tokenizer, embedder="none")
    except BudgetError as exc:
        assert "smaller than the header" in str(exc)
        return
    assert tok.count(p.text) == p.tokens <= budget


# ------------------------------------------------------------------ accounting
def test_stats_account_for_what_packing_saves(session_repo: Path) -> None:
    p = contextpack.pack("greet people", session_repo, 600, cache=False)
    assert p.stats["source_tokens"] == p.source_tokens > p.tokens == p.stats["packed_tokens"]
    assert p.saved_tokens == p.source_tokens - p.tokens
    assert p.stats["compression"] == round(p.source_tokens / p.tokens, 2)
    assert "cost" not in p.stats and "window" not in p.stats  # only when asked for


def test_json_stays_byte_identical_with_a_model_and_a_usage_log(session_repo: Path,
                                                                tmp_path: Path) -> None:
    log = tmp_path / "usage.jsonl"
    texts = [contextpack.pack("greet people", session_repo, 900, model="gpt-4o-mini",
                              format="json", cache=False, usage_log=log).text for _ in range(2)]
    assert texts[0] == texts[1]
    assert "time" not in json.loads(texts[0])["stats"]
    assert len(log.read_text().splitlines()) == 2


def test_usage_log_lines(session_repo: Path, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "logs" / "usage.jsonl"
    monkeypatch.setenv(USAGE_LOG_ENV, str(log))
    packer = Packer(session_repo, Settings(use_cache=False, model="gpt-4o-mini"))
    secret_query = "where is the top secret launch code handled?"
    p = packer.pack(secret_query, 800, reserve=100)
    packer.pack("greet people", 800)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert secret_query not in log.read_text() and "launch" not in log.read_text()
    assert first["query_sha256"] == query_hash(secret_query)
    assert first["budget"] == 700 and first["reserve_output_tokens"] == 100
    assert first["tokens"] == p.tokens and first["source_tokens"] == p.source_tokens
    assert first["sources"] == [os.path.abspath(session_repo)] and first["documents"] == 0
    assert first["model"] == "gpt-4o-mini" and first["encoding"] == "o200k_base"
    assert first["cost_usd"] == p.stats["cost"]["pack_usd"]
    assert first["time"].endswith("Z")


def test_concurrent_processes_append_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "usage.jsonl"
    code = ("import sys; from contextpack.usage import append_usage, usage_record; "
            "[append_usage(sys.argv[1], usage_record(query='q' * 3000, budget=1, tokens=i, "
            "source_tokens=2, sources=['/x'] * 50, documents=0, encoding='e', model=None)) "
            "for i in range(200)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(log)]) for _ in range(4)]
    assert all(p.wait() == 0 for p in procs)
    lines = log.read_text().splitlines()
    assert len(lines) == 800 and all(json.loads(line)["budget"] == 1 for line in lines)


def test_an_unwritable_usage_log_is_a_clear_error(session_repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "log-is-a-folder"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot append to the usage log"):
        contextpack.pack("x", session_repo, 800, cache=False, usage_log=folder)


# ------------------------------------------------------------------ the CLI
def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_model_reserve_tokenizer_and_usage_log(session_repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "u.jsonl"
    code, out, err = run("build", str(session_repo), "--model", "gpt-4o-mini", "--reserve",
                         "127000", "--query", "greet people", "-f", "json", "--usage-log",
                         str(log), "--no-cache")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["budget"] == 1000 and doc["encoding"] == "o200k_base"
    assert "gpt-4o-mini: about $" in err and "estimates" in err
    assert json.loads(log.read_text())["model"] == "gpt-4o-mini"
    code, out, err = run("build", str(session_repo), "-b", "700", "--tokenizer",
                         MINILM_TOKENIZER, "--query", "add", "-q", "--no-cache")
    assert code == 0, err
    assert get_tokenizer(tokenizer_file=MINILM_TOKENIZER).count(out) <= 700


def test_cli_several_paths_and_missing_budget(session_repo: Path) -> None:
    code, out, err = run("build", str(session_repo / "sample.py"), str(session_repo /
                         "sample.go"), "-b", "800", "--query", "add", "-q", "--no-cache")
    assert code == 0, err
    assert "## sample.py" in out and "## sample.go" in out
    # No budget and no model: the CLI and the API agree on the default.
    code, out, err = run("build", str(session_repo), "--query", "x", "-f", "json", "-q",
                         "--no-cache")
    assert code == 0, err
    api = pack("x", session_repo, cache=False)
    assert json.loads(out)["budget"] == api.budget == DEFAULT_BUDGET
    code, _, err = run("build", str(session_repo), "--model", "gpt-7", "--query", "x")
    assert code == 1 and "unknown model 'gpt-7'" in err and "Traceback" not in err
