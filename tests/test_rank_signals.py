"""Documents in a code base keep their prior, in a pile of documents they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextpack.api import Packer, Settings
from contextpack.rank import Weights, _prose_relax, rank


@pytest.mark.parametrize("share, relax", [(0.0, 0.0), (0.4, 0.0), (0.5, 0.0), (0.75, 0.5),
                                          (1.0, 1.0)])
def test_documents_are_relaxed_only_where_they_are_most_of_the_corpus(share: float,
                                                                      relax: float) -> None:
    assert _prose_relax(share) == pytest.approx(relax)


def test_docs_in_a_code_base_keep_their_prior_for_any_question(tmp_path: Path) -> None:
    """A manual beside the code (here a fifth of the tokens) is weighed as docs, plain
    question or not: its sections mention everything, and relaxed they outranked the code
    that does the thing asked about."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "limits.md").write_text(
        "# Limits\n\nThe nesting limit stops deep documents; raise it in the options.\n")
    (tmp_path / "parser.py").write_text(
        "MAX_NESTING = 100\n\n\ndef parse_block(lines, depth=0):\n"
        "    \"\"\"Parse nested blocks, stopping at the nesting limit.\"\"\"\n"
        "    if depth > MAX_NESTING:\n        raise ValueError('too deep')\n"
        "    return [parse_block(line, depth + 1) for line in lines]\n")
    index = Packer(tmp_path, Settings(use_cache=False, embedder="none")).index
    doc = next(r for r in range(index.n_chunks)
               if index.paths[int(index.chunk_file[r])] == "docs/limits.md")
    for query in ("what stops deep nesting?", "what does `MAX_NESTING` limit?"):
        ranking = rank(index, query, None, Weights())
        assert ranking.prior is not None
        assert ranking.prior[doc] == Weights().doc_prior
