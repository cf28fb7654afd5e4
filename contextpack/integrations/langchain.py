"""A LangChain document compressor: the retrieved documents that fit a token budget.

    from contextpack.integrations.langchain import ContextpackCompressor

    compressor = ContextpackCompressor(budget=2000)
    docs = compressor.compress_documents(retriever.invoke(query), query)

Needs ``pip install contextpack[langchain]`` (``langchain-core``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    from langchain_core.callbacks import Callbacks
    from langchain_core.documents import BaseDocumentCompressor, Document
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "contextpack.integrations.langchain needs langchain-core: "
        "pip install 'contextpack[langchain]'"
    ) from exc
from pydantic import ConfigDict, Field, model_validator

from ..api import SettingsOverrides
from ..compression import SCORE_KEY, TOKENS_KEY, VIEW_KEY, compress
from . import renamed_fields, settings_overrides


class ContextpackCompressor(BaseDocumentCompressor):
    """Keep the documents most relevant to the query that fit ``budget``, shrinking
    large ones to their relevant chunks (in full or as skeletons).

    Returned documents come best first, with ``contextpack_score``, ``contextpack_view``
    (``full``, ``skeleton`` or ``partial``) and ``contextpack_tokens`` added to their
    metadata; their ``page_content`` token counts add up to ``budget`` or less under
    the chosen tokenizer: ``tokenizer`` (a ``tokenizer.json`` path), else ``encoding``,
    else ``model``'s encoding, else cl100k_base.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget: int = Field(gt=0, description="Budget for all returned page_content.")
    encoding: str | None = None
    tokenizer: str | None = None
    model: str | None = None
    embedder: str = "static"
    redact: bool = True
    usage_log: str | None = None

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The documents that fit, best first, shrunk where that pays."""
        kept = compress(query, documents, self.budget, **self._options())
        out = []
        for k in kept:
            doc = documents[k.position]
            meta = {**doc.metadata, **k.metadata()}
            out.append(Document(page_content=k.text, metadata=meta, id=doc.id))
        return out

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        return renamed_fields(cls.__name__, data)

    def _options(self) -> SettingsOverrides:
        return settings_overrides(self)


__all__ = ["SCORE_KEY", "TOKENS_KEY", "VIEW_KEY", "ContextpackCompressor"]
