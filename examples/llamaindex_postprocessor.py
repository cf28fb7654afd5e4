"""contextpack as a LlamaIndex node postprocessor in a query engine.

    pip install 'contextpack[llamaindex]'
    python examples/llamaindex_postprocessor.py

Offline: a tiny retriever returns every node, and the engine's synthesizer returns no
text (no LLM is called); contextpack ranks and trims the nodes with its bundled models.
"""

from __future__ import annotations

from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.no_text import NoText
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from contextpack.integrations.llamaindex import ContextpackPostprocessor

NODES = [
    TextNode(text='def total(lines):\n    """Sum of the invoice lines, tax included."""\n'
                  "    return sum(l.amount * (1 + l.tax_rate) for l in lines)\n",
             metadata={"file_path": "billing/invoice.py"}),
    TextNode(text="# Deploying\n\nBuild the image, push it, then run the migrations.\n",
             metadata={"file_path": "docs/deploy.md"}),
    TextNode(text="def hash_password(password, salt):\n    return pbkdf2(password, salt)\n",
             metadata={"file_path": "auth/passwords.py"}),
]


class EveryNode(BaseRetriever):
    """Returns every node; stands in for a vector or keyword retriever."""

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=n, score=1.0) for n in NODES]


def main() -> None:
    engine = RetrieverQueryEngine(
        retriever=EveryNode(),
        response_synthesizer=NoText(llm=MockLLM()),
        node_postprocessors=[ContextpackPostprocessor(budget=60)],
    )
    response = engine.query("how is the invoice total computed?")
    for n in response.source_nodes:
        m = n.node.metadata
        print(f"--- {m['file_path']} (score {n.score:.3f}, {m['contextpack_view']}, "
              f"{m['contextpack_tokens']} tokens)")
        print(n.node.get_content())


if __name__ == "__main__":
    main()
