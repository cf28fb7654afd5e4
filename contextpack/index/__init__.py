"""The index stage: files -> chunks, counts, terms, graph and vectors, cached on disk.

``open_index(root, ...)`` gives the ``Index`` of a tree, brought up to date with the files
on disk; ``index_sources`` indexes in-memory documents; ``merge_indexes`` joins several.

Modules: ``core`` (the ``Index`` columns and their assembly), ``build`` (what changed and
what to compute), ``store`` (where the cache lives; the content-addressed store and the
snapshots), ``columns`` (compact string columns and sorted-key lookups), ``merge``.
"""

from .build import (
    IndexSettings,
    index_sources,
    iter_cache_files,
    open_index,
    settle_writes,
    skipped_list,
)
from .core import Index, Progress

__all__ = ["Index", "IndexSettings", "Progress", "index_sources", "iter_cache_files",
           "open_index", "settle_writes", "skipped_list"]
