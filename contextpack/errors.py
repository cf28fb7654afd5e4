"""Errors raised by contextpack.

Every error a user can cause derives from ``ContextpackError`` and carries the
offending value, so the CLI can show one clear line instead of a traceback::

    ContextpackError
    ├── SourceError          a path that is missing, unreadable or empty
    ├── BudgetError          a budget that is not positive or too small to hold anything
    ├── TokenizerError       an encoding or tokenizer file that cannot be loaded
    ├── EmbedderError        an embedding model that cannot be loaded
    ├── ConfigError          a bad option or configuration value
    └── CacheError          a cache that cannot be used (never raised for corruption:
                             a corrupt cache is rebuilt with a warning)

Any other exception escaping contextpack is a bug and keeps its traceback.
"""

from __future__ import annotations


class ContextpackError(Exception):
    """Root of every error a user can cause."""


class SourceError(ContextpackError):
    """A source path is missing, unreadable or holds nothing to pack."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class BudgetError(ContextpackError):
    """The token budget is not positive, or too small for even the header."""

    def __init__(self, message: str, budget: int, needed: int | None = None) -> None:
        super().__init__(message)
        self.budget = budget
        self.needed = needed


class TokenizerError(ContextpackError):
    """A tiktoken encoding or a tokenizer.json file cannot be loaded."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class EmbedderError(ContextpackError):
    """An embedding model cannot be loaded."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class ConfigError(ContextpackError):
    """An option or configuration value is invalid."""

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        self.value = value


class CacheError(ContextpackError):
    """The index cannot be opened or written (for example, no writable cache folder)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


__all__ = [
    "BudgetError",
    "ConfigError",
    "ContextpackError",
    "EmbedderError",
    "CacheError",
    "SourceError",
    "TokenizerError",
]
