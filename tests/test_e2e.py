"""End to end with every real part: tree-sitter, tiktoken, MiniLM through
sentence-transformers, the distilled static model, and faiss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from contextpack.cli import main
from contextpack.embed import SentenceTransformerEmbedder, StaticEmbedder
from contextpack.tokens import get_tokenizer


@pytest.mark.parametrize("embedder", ["minilm", "static"])
def test_build_with_real_models(repo: Path, embedder: str) -> None:
    result = CliRunner().invoke(main, ["build", str(repo), "--budget", "700", "--query",
                                       "which function adds two numbers together?",
                                       "--format", "json", "--embedder", embedder, "-q"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["tokens"] == get_tokenizer().count(doc["context"]) <= 700
    assert doc["stats"]["embedder"] == ("all-MiniLM-L6-v2" if embedder == "minilm"
                                        else "minilm-static-v2")
    shown = {(i["symbol"], i["view"]) for i in doc["items"]}
    assert ("add", "full") in shown


def test_minilm_embeddings_are_normalised_and_meaningful() -> None:
    model = SentenceTransformerEmbedder()
    docs = model.embed_documents(["def add(a, b): return a + b", "class HttpRequest: headers"])
    q = model.embed_query("sum two numbers")
    assert docs.shape == (2, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert docs[0] @ q > docs[1] @ q


def test_static_model_agrees_with_minilm_on_easy_cases() -> None:
    static = StaticEmbedder()
    docs = static.embed_documents(["def add(a, b): return a + b", "class HttpRequest: headers"])
    assert docs.shape == (2, 256)
    q = static.embed_query("add numbers")
    assert docs[0] @ q > docs[1] @ q
    assert np.allclose(static.embed_query("add numbers"), q)
