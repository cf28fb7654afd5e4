"""Reports about an index or a pack: the text of ``stats`` and ``--explain``, and the
self-contained HTML pages of ``build --report`` and ``stats --html`` (a treemap of where
the tokens are and what the budget bought)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .text import CONTEXT_SIZES, explain, token_tree

if TYPE_CHECKING:
    from ..index import Index
    from ..types import Pack, SourceTokens


def pack_html(pack: Pack, title: str = "") -> str:
    """The HTML report of a pack (``Pack.report_html``); ``title`` names the sources."""
    from .html import pack_html as page

    return page(pack, title)


def stats_html(index: Index, files: tuple[SourceTokens, ...], title: str = "") -> str:
    """The HTML report of ``contextpack stats``: the index's files by kind and size."""
    from ..index import skipped_list
    from .html import stats_html as page
    from .model import stats_report

    redactions = [p for p, found in zip(index.paths, index.redactions, strict=True)
                  for _ in found]
    report = stats_report(title, index.tokenizer, files, skipped_list(index), redactions)
    return page(report)


__all__ = ["CONTEXT_SIZES", "explain", "pack_html", "stats_html", "token_tree"]
