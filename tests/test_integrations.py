"""The LangChain compressor and the LlamaIndex postprocessor, inside the real frameworks'
retrieval pipelines, and the engine they share (``contextpack.compress``)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import contextpack
from contextpack.compression import ELISION, compress
from contextpack.embed import minilm_path
from contextpack.errors import BudgetError, SourceError
from contextpack.tokens import get_tokenizer

MINILM_TOKENIZER = str(minilm_path() / "tokenizer.json")
QUERY = "which function adds two numbers together?"

# A small corpus: one document answers the query; the rest are about other things, and
# one is large enough that only part of it can fit a small budget.
CORPUS = {
    "calc/arithmetic.py": '''"""Arithmetic helpers."""


def add(a, b):
    """Add two numbers together and return the sum."""
    return a + b


def negate(x):
    """The additive inverse."""
    return -x
''',
    "web/routing.py": "\n\n".join(
        f'def route_{i}(request):\n    """Handle the /page/{i} URL."""\n'
        f'    return render(request, "page_{i}.html", {{"n": {i}}})'
        for i in range(40)) + "\n",
    "docs/deploy.md": "# Deploying\n\nBuild the image, push it to the registry, then run "
                      "the database migrations before switching traffic.\n",
    "auth/passwords.py": "import hashlib\n\n\ndef hash_password(password, salt):\n"
                         '    """PBKDF2-SHA256."""\n'
                         "    return hashlib.pbkdf2_hmac('sha256', password, salt, 600_000)\n",
    "notes/fruit.txt": "Bananas are yellow and rich in potassium. Apples keep well.\n",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The frameworks must work offline (llama-index-core fetches NLTK data only for its
    text splitters, which nothing here uses): any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def total_tokens(texts: list[str], tokenizer: str | None = None) -> int:
    tok = get_tokenizer(tokenizer_file=tokenizer)
    return sum(tok.count(t) for t in texts)


# ------------------------------------------------------------------ the engine
def test_compress_keeps_the_answer_and_shrinks_what_does_not_fit() -> None:
    docs = [{"text": t, "metadata": {"source": p}} for p, t in CORPUS.items()]
    kept = compress(QUERY, docs, 150)
    assert kept and kept[0].position == 0  # calc/arithmetic.py, best first
    assert sum(k.tokens for k in kept) == total_tokens([k.text for k in kept]) <= 150
    roomy = compress("route the page URL", docs, 600)
    routing = next(k for k in roomy if k.position == 1)
    assert routing.view in ("partial", "skeleton") and ELISION in routing.text
    assert routing.chunks["omitted"] > 0
    everything = compress(QUERY, docs, 100_000)  # all fit: all come back, unchanged
    assert [k.text for k in sorted(everything, key=lambda k: k.position)] == list(
        CORPUS.values())
    assert {k.view for k in everything} == {"full"} and everything[0].position == 0


def test_compress_edge_cases() -> None:
    assert compress(QUERY, [], 100) == []
    assert compress(QUERY, ["", "   \n"], 100) == []
    assert compress(QUERY, [CORPUS["calc/arithmetic.py"]], 1) == []
    with pytest.raises(BudgetError, match="budget must be a positive"):
        compress(QUERY, ["x"], 0)
    with pytest.raises(SourceError, match="cannot compress a int"):
        compress(QUERY, [3], 100)


def test_compress_redacts_secrets_and_never_returns_the_raw_text() -> None:
    secret = 'API_TOKEN = "ghp_FAKE0EXAMPLE0TOKEN0123456789abcdefgh"\n\ndef add(a, b):\n' \
             "    return a + b\n"
    kept = compress(QUERY, [{"text": secret, "metadata": {"source": "cfg.py"}}], 500)
    assert kept and "ghp_FAKE" not in kept[0].text and "REDACTED" in kept[0].text


@settings(max_examples=25, deadline=None)
@given(max_tokens=st.integers(min_value=1, max_value=900), hf=st.booleans(),
       query=st.sampled_from([QUERY, "", "route the page URL", "database migrations"]))
def test_compressed_documents_fit_max_tokens(max_tokens: int, hf: bool, query: str) -> None:
    tokenizer = MINILM_TOKENIZER if hf else None
    docs = [{"text": t, "metadata": {"source": p}} for p, t in CORPUS.items()]
    kept = compress(query, docs, max_tokens, tokenizer=tokenizer, embedder="none")
    assert total_tokens([k.text for k in kept], tokenizer) <= max_tokens
    assert len({k.position for k in kept}) == len(kept)


# ------------------------------------------------------------------ LangChain
def langchain_docs() -> list:
    from langchain_core.documents import Document

    return [Document(page_content=t, metadata={"source": p}, id=f"id-{i}")
            for i, (p, t) in enumerate(CORPUS.items())]


def langchain_chain(compressor):  # type: ignore[no-untyped-def]
    """retriever -> compressor, from langchain-core primitives (ContextualCompression-
    Retriever lives in the heavier ``langchain`` package)."""
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
    from langchain_core.vectorstores import InMemoryVectorStore

    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=32))
    store.add_documents(langchain_docs())
    retriever = store.as_retriever(search_kwargs={"k": len(CORPUS)})
    return RunnableParallel(docs=retriever, query=RunnablePassthrough()) | RunnableLambda(
        lambda x: compressor.compress_documents(x["docs"], x["query"]))


@pytest.mark.parametrize("embedder", ["static", "minilm"])
def test_langchain_compressor_in_a_retrieval_chain(embedder: str) -> None:
    from langchain_core.documents import BaseDocumentCompressor, Document

    from contextpack.integrations.langchain import ContextpackCompressor

    compressor = ContextpackCompressor(budget=200, embedder=embedder)
    assert isinstance(compressor, BaseDocumentCompressor)
    out = langchain_chain(compressor).invoke(QUERY)
    assert out and all(isinstance(d, Document) for d in out)
    assert out[0].metadata["source"] == "calc/arithmetic.py" and out[0].id == "id-0"
    assert total_tokens([d.page_content for d in out]) <= 200
    for d in out:
        assert d.metadata["contextpack_tokens"] == get_tokenizer().count(d.page_content)
        assert d.metadata["contextpack_view"] in ("full", "skeleton", "partial")
        assert isinstance(d.metadata["contextpack_score"], float)
    scores = [d.metadata["contextpack_score"] for d in out]
    assert scores == sorted(scores, reverse=True)


def test_langchain_compressor_async_tokenizer_and_inputs_untouched() -> None:
    from contextpack.integrations.langchain import ContextpackCompressor

    docs = langchain_docs()
    before = [(d.page_content, dict(d.metadata)) for d in docs]
    compressor = ContextpackCompressor(budget=120, tokenizer=MINILM_TOKENIZER)
    out = asyncio.run(compressor.acompress_documents(docs, QUERY))
    assert out[0].metadata["source"] == "calc/arithmetic.py"
    assert total_tokens([d.page_content for d in out], MINILM_TOKENIZER) <= 120
    assert [(d.page_content, d.metadata) for d in docs] == before
    with pytest.raises(ValueError):
        ContextpackCompressor(budget=0)
    with pytest.raises(ValueError):
        ContextpackCompressor(budget=10, no_such_option=1)  # type: ignore[call-arg]


def test_langchain_compressor_logs_usage(tmp_path: Path) -> None:
    from contextpack.integrations.langchain import ContextpackCompressor

    log = tmp_path / "u.jsonl"
    out = ContextpackCompressor(budget=200, model="gpt-4o-mini",
                                usage_log=str(log)).compress_documents(langchain_docs(), QUERY)
    line = json.loads(log.read_text())
    assert line["kind"] == "compress" and line["documents"] == len(CORPUS)
    assert line["tokens"] == sum(d.metadata["contextpack_tokens"] for d in out)
    assert line["encoding"] == "o200k_base" and QUERY not in log.read_text()


# ------------------------------------------------------------------ LlamaIndex
def llama_nodes() -> list:
    from llama_index.core.schema import NodeWithScore, TextNode

    # The retriever's scores favour the wrong documents; contextpack's ranking decides.
    return [NodeWithScore(node=TextNode(text=t, metadata={"file_path": p}),
                          score=0.1 if p.startswith("calc") else 0.9)
            for p, t in CORPUS.items()]


def test_llamaindex_postprocessor_in_a_query_engine() -> None:
    from llama_index.core.llms import MockLLM
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.response_synthesizers.no_text import NoText
    from llama_index.core.retrievers import BaseRetriever

    from contextpack.integrations.llamaindex import ContextpackPostprocessor

    nodes = llama_nodes()

    class EveryNode(BaseRetriever):
        def _retrieve(self, query_bundle):  # type: ignore[no-untyped-def]
            return nodes

    post = ContextpackPostprocessor(budget=200)
    assert isinstance(post, BaseNodePostprocessor)
    engine = RetrieverQueryEngine(retriever=EveryNode(), response_synthesizer=NoText(
        llm=MockLLM()), node_postprocessors=[post])
    got = engine.query(QUERY).source_nodes
    assert got[0].node.metadata["file_path"] == "calc/arithmetic.py"
    assert got[0].node.metadata["retrieval_score"] == 0.1
    assert got[0].score == got[0].node.metadata["contextpack_score"]
    texts = [n.node.get_content() for n in got]
    assert total_tokens(texts) <= 200
    assert all(n.node.metadata["contextpack_tokens"] == get_tokenizer().count(n.node.get_content())
               for n in got)
    # the input nodes are copies' sources, not changed
    assert nodes[1].node.get_content() == CORPUS["web/routing.py"]
    assert "contextpack_score" not in nodes[0].node.metadata


def test_llamaindex_postprocessor_direct_async_and_hf_tokenizer() -> None:
    from llama_index.core.schema import QueryBundle

    from contextpack.integrations.llamaindex import ContextpackPostprocessor

    post = ContextpackPostprocessor(budget=90, tokenizer=MINILM_TOKENIZER)
    out = post.postprocess_nodes(llama_nodes(), query_str=QUERY)
    assert out[0].node.metadata["file_path"] == "calc/arithmetic.py"
    assert total_tokens([n.node.get_content() for n in out], MINILM_TOKENIZER) <= 90
    again = asyncio.run(post.apostprocess_nodes(llama_nodes(), QueryBundle(QUERY)))
    assert [n.node.get_content() for n in again] == [n.node.get_content() for n in out]
    assert post.postprocess_nodes([], query_str=QUERY) == []


# ------------------------------------------------------------------ packaging
def test_integrations_stay_out_of_a_plain_import() -> None:
    assert callable(contextpack.compress)
    code = ("import sys, contextpack; contextpack.compress; contextpack.Packer; "
            "print([m for m in sys.modules if m.startswith(('langchain', 'llama_index'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module, framework, extra", [
    ("langchain", "langchain_core", "contextpack[langchain]"),
    ("llamaindex", "llama_index", "contextpack[llamaindex]"),
])
def test_a_missing_framework_names_the_extra(module: str, framework: str, extra: str) -> None:
    code = (f"import sys; sys.modules[{framework!r}] = None\n"
            f"try:\n    import contextpack.integrations.{module}\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert extra in out.stdout
