"""contextpack: fit the most relevant code and docs of a repository into a token budget.

    >>> import contextpack
    >>> pack = contextpack.pack("how are requests routed?", "path/to/repo", budget=8000)
    >>> print(pack.text)

Importing this package is cheap: numpy, tiktoken, tree-sitter and the models load on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (BudgetError, CacheError, ConfigError, ContextpackError, EmbedderError,
                     SourceError, TokenizerError)
from .types import Chunk, Document, Dropped, Item, Pack, Skipped

if TYPE_CHECKING:
    from .api import Packer, Settings, pack

__version__ = "0.1.0"

__all__ = [
    "BudgetError",
    "CacheError",
    "Chunk",
    "ConfigError",
    "ContextpackError",
    "Document",
    "Dropped",
    "EmbedderError",
    "Item",
    "Pack",
    "Packer",
    "Settings",
    "Skipped",
    "SourceError",
    "TokenizerError",
    "__version__",
    "pack",
]


def __getattr__(name: str) -> Any:
    # The API pulls in numpy and friends: load it when first asked for.
    if name in ("pack", "Packer", "Settings"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'contextpack' has no attribute {name!r}")
