"""contextpack: fit the most relevant code and docs of a repository into a token budget.

    >>> import contextpack
    >>> pack = contextpack.pack("how are requests routed?", "path/to/repo", budget=8000)
    >>> print(pack.text)

Importing this package is cheap: numpy, tiktoken, tree-sitter and the models load on
first use; the LangChain and LlamaIndex components live in ``contextpack.integrations``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .contract import (
    JsonItem,
    JsonLeftOut,
    JsonPack,
    JsonSkipped,
    JsonSpan,
    JsonStats,
    PackStats,
    StatsCost,
    StatsPriceTier,
    StatsRedaction,
    StatsSeconds,
    StatsViews,
    StatsWindow,
)
from .errors import (
    BudgetError,
    CacheError,
    ConfigError,
    ContextpackError,
    EmbedderError,
    SourceError,
    TokenizerError,
)
from .models import DEFAULT_BUDGET, Model, ModelTable, PriceTier, get_model
from .types import (
    Chunk,
    Document,
    DropKind,
    Dropped,
    HasGetContent,
    HasPageContent,
    HasText,
    Item,
    Pack,
    SkipKind,
    Skipped,
    SourceTokens,
)

if TYPE_CHECKING:
    from .api import Packer, Settings, SettingsOverrides, Source, pack
    from .compression import Compressed, compress
    from .embed import Embedder
    from .fit import PackOptions
    from .index import Index
    from .index.engine import DaskEngine
    from .navigate import Hit
    from .rank import Weights
    from .session import Session
    from .sources import SourceOptions
    from .tokens import Tokenizer

__version__ = "0.1.0"

__all__ = [
    "BudgetError",
    "CacheError",
    "Chunk",
    "Compressed",
    "ConfigError",
    "ContextpackError",
    "DEFAULT_BUDGET",
    "DaskEngine",
    "Document",
    "DropKind",
    "Dropped",
    "Embedder",
    "EmbedderError",
    "HasGetContent",
    "HasPageContent",
    "HasText",
    "Hit",
    "Index",
    "Item",
    "JsonItem",
    "JsonLeftOut",
    "JsonPack",
    "JsonSkipped",
    "JsonSpan",
    "JsonStats",
    "Model",
    "ModelTable",
    "Pack",
    "PackOptions",
    "PackStats",
    "Packer",
    "PriceTier",
    "Session",
    "Settings",
    "SettingsOverrides",
    "SkipKind",
    "Skipped",
    "Source",
    "SourceError",
    "SourceOptions",
    "SourceTokens",
    "StatsCost",
    "StatsPriceTier",
    "StatsRedaction",
    "StatsSeconds",
    "StatsViews",
    "StatsWindow",
    "Tokenizer",
    "TokenizerError",
    "Weights",
    "__version__",
    "compress",
    "get_model",
    "pack",
]

# Name -> the module defining it, imported on first use: these pull in numpy and friends.
_LAZY = {
    "Compressed": "compression",
    "DaskEngine": "index.engine",
    "Embedder": "embed",
    "Hit": "navigate",
    "Index": "index",
    "PackOptions": "fit",
    "Packer": "api",
    "Session": "session",
    "Settings": "api",
    "SettingsOverrides": "api",
    "Source": "api",
    "SourceOptions": "sources",
    "Tokenizer": "tokens",
    "Weights": "rank",
    "compress": "compression",
    "pack": "api",
}


def __getattr__(name: str) -> Any:
    # The API pulls in numpy and friends: load it when first asked for.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'contextpack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
