"""Ranking signals of issue 17's last round: pasted messages find the template that prints
them; documents in a code base keep their prior, in a pile of documents they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextpack.api import Packer, Settings
from contextpack.rank import Weights, _literal_parts, _prose_relax, rank

LOOKUP_C = r"""
#include "value.h"

/* Index an object by a key. */
value get_field(value t, value k)
{
    if (kind(t) == OBJECT && kind(k) == STRING) {
        return object_get(t, k);
    }
    return invalid_with_msg(string_fmt("Cannot index %s with string \"%s\"",
                                       kind_name(kind(t)), string_value(k)));
}

/* Index an array by a number or a slice. */
value get_element(value t, value k)
{
    if (kind(t) == ARRAY && kind(k) == NUMBER) {
        return array_get(t, (int)number_value(k));
    }
    return invalid_with_msg(string_fmt("Cannot slice or index a %s", kind_name(kind(t))));
}

/* Turn a number into a string for printing. */
value number_to_string(value number)
{
    return string_fmt("%g", number_value(number));
}
"""


def _row(p: Packer, symbol: str) -> int:
    return p.index.symbols.index(symbol)


def test_a_pasted_error_finds_the_template_that_prints_it(tmp_path: Path) -> None:
    (tmp_path / "aux.c").write_text(LOOKUP_C)
    p = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    query = 'prog: error (at <stdin>:0): Cannot index number with string "foo"'
    on = rank(p.index, query, None, Weights())
    off = rank(p.index, query, None, Weights(message=0.0))
    field, element = _row(p, "get_field"), _row(p, "get_element")
    assert on.signals["message"][field] == 1.0
    assert on.signals["message"][element] == 0.0  # "Cannot slice or index a" is not quoted
    assert int(on.order()[0]) == field
    assert "message" not in off.signals
    assert on.scores[field] - on.scores[element] > off.scores[field] - off.scores[element]


def test_a_question_quoting_no_message_gets_no_message_signal(tmp_path: Path) -> None:
    (tmp_path / "aux.c").write_text(LOOKUP_C)
    p = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    ranking = rank(p.index, "how is a number indexed with a string?", None, Weights())
    assert not ranking.signals["message"].any()


@pytest.mark.parametrize("code, parts", [
    ('msg("Cannot index %s with string \\"%s\\"")', ("cannot index", 'with string "')),
    ("raise ValueError(f'Unknown   field {name!r} on {model}')", ("unknown field",)),
    ('format!("{} is not in {}", v, r)', ()),  # 9 characters between: too little to tell
    ("log('%(name)s has  no attribute %(attr)s')", ("has no attribute",)),
    ("x = `retry ${n} of ${max} failed`", ()),  # the fixed pieces are single words
    ('plt = import_module("matplotlib.pyplot")', ()),  # a name, not a message
    ('cfg.set("transform_output", "pandas_frame")', ()),
])
def test_the_fixed_text_of_a_literal_is_what_a_message_shows(code: str,
                                                              parts: tuple[str, ...]) -> None:
    assert _literal_parts(code) == tuple(sorted(parts))


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
