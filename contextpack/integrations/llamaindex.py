"""A LlamaIndex node postprocessor: the retrieved nodes that fit a token budget.

    from contextpack.integrations.llamaindex import ContextpackPostprocessor

    post = ContextpackPostprocessor(budget=2000)
    nodes = post.postprocess_nodes(retriever.retrieve(query), query_str=query)

Needs ``pip install contextpack[llamaindex]`` (``llama-index-core``).
"""

from __future__ import annotations

from typing import Any

try:
    from llama_index.core.bridge.pydantic import Field
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "contextpack.integrations.llamaindex needs llama-index-core: "
        "pip install 'contextpack[llamaindex]'"
    ) from exc
from pydantic import model_validator

from ..api import SettingsOverrides
from ..compression import SCORE_KEY, TOKENS_KEY, VIEW_KEY, compress
from . import renamed_fields, settings_overrides

#: The retriever's own score, kept when the node's score becomes contextpack's.
RETRIEVAL_SCORE_KEY = "retrieval_score"


class ContextpackPostprocessor(BaseNodePostprocessor):
    """Keep the nodes most relevant to the query that fit ``budget``, shrinking large
    ones to their relevant chunks (in full or as skeletons).

    Returned nodes come best first; each is a copy whose text is what fits, whose score
    is contextpack's (the retriever's is kept in metadata as ``retrieval_score``), with
    ``contextpack_score``, ``contextpack_view`` and ``contextpack_tokens`` in metadata.
    Their texts' token counts add up to ``budget`` or less under the chosen
    tokenizer. Nodes without text are left out.
    """

    budget: int = Field(gt=0, description="Budget for the text of all returned nodes.")
    encoding: str | None = None
    tokenizer: str | None = None
    model: str | None = None
    embedder: str = "static"
    redact: bool = True
    usage_log: str | None = None

    @classmethod
    def class_name(cls) -> str:
        return "ContextpackPostprocessor"

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query = query_bundle.query_str if query_bundle is not None else ""
        texts = [_Text(n) for n in nodes]
        kept = compress(query, texts, self.budget, **self._options())
        out = []
        for k in kept:
            original = nodes[k.position]
            node = original.node
            meta = {**node.metadata, **k.metadata()}
            if original.score is not None:
                meta[RETRIEVAL_SCORE_KEY] = original.score
            if isinstance(node, TextNode):
                copy = node.model_copy(update={"text": k.text, "metadata": meta})
            else:
                copy = TextNode(text=k.text, metadata=meta, id_=node.node_id)
            out.append(NodeWithScore(node=copy, score=round(k.score, 6)))
        return out

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        return renamed_fields(cls.__name__, data)

    def _options(self) -> SettingsOverrides:
        return settings_overrides(self)


class _Text:
    """A node as contextpack reads it: its content without metadata, and its metadata
    (whose ``file_path`` names it, and tells its language)."""

    __slots__ = ("metadata", "node_id", "text")

    def __init__(self, n: NodeWithScore) -> None:
        self.text = n.node.get_content(metadata_mode=MetadataMode.NONE) or ""
        self.metadata = dict(n.node.metadata or {})
        self.node_id = n.node.node_id


__all__ = ["RETRIEVAL_SCORE_KEY", "SCORE_KEY", "TOKENS_KEY", "VIEW_KEY",
           "ContextpackPostprocessor"]
