"""Renamed parameters keep working for one release, with a DeprecationWarning."""

from __future__ import annotations

import warnings
from typing import TypeVar

T = TypeVar("T")


def renamed(where: str, old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``where``'s ``old`` keyword is now ``new`` (``stacklevel`` 3 points at
    the caller of the function that calls this)."""
    warnings.warn(f"{where}: {old!r} is deprecated, use {new!r}; the old name goes in the "
                  "next release", DeprecationWarning, stacklevel=stacklevel)


def either(where: str, old: str, old_value: T | None, new: str, new_value: T | None,
           stacklevel: int = 4) -> T | None:
    """The value of a renamed keyword, given under either name (not both)."""
    if old_value is None:
        return new_value
    renamed(where, old, new, stacklevel)
    if new_value is not None:
        raise TypeError(f"{where}: give {new!r} or its old name {old!r}, not both")
    return old_value
