"""contextpack: fit the most relevant code and docs of a repository into a token budget.

    >>> import contextpack
    >>> pack = contextpack.pack("how are requests routed?", "path/to/repo", budget=8000)
    >>> print(pack.text)

Importing this package is cheap: numpy, tiktoken, tree-sitter and the models load on
first use; the LangChain and LlamaIndex components live in ``contextpack.integrations``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    BudgetError,
    CacheError,
    ConfigError,
    ContextpackError,
    EmbedderError,
    SourceError,
    TokenizerError,
)
from .models import Model, get_model
from .types import Chunk, Document, Dropped, Item, Pack, Skipped, SourceTokens

if TYPE_CHECKING:
    from .api import Packer, Settings, pack
    from .compression import Compressed, compress
    from .session import Session

__version__ = "0.1.0"

__all__ = [
    "BudgetError",
    "CacheError",
    "Chunk",
    "Compressed",
    "ConfigError",
    "ContextpackError",
    "Document",
    "Dropped",
    "EmbedderError",
    "Item",
    "Model",
    "Pack",
    "Packer",
    "Session",
    "Settings",
    "Skipped",
    "SourceError",
    "SourceTokens",
    "TokenizerError",
    "__version__",
    "compress",
    "get_model",
    "pack",
]

_LAZY = {"pack": "api", "Packer": "api", "Settings": "api", "Session": "session",
         "compress": "compression", "Compressed": "compression"}


def __getattr__(name: str) -> Any:
    # The API pulls in numpy and friends: load it when first asked for.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'contextpack' has no attribute {name!r}")
