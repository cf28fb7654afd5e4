"""A named few-line function hands part of its name score to what it calls."""

from __future__ import annotations

from pathlib import Path

from contextpack.api import Packer, Settings
from contextpack.rank import Weights, rank

LOOKUP_C = """\
#include <string.h>

/* Walk the object's children; compare names with or without case. */
static item *get_item(const object *o, const char *name, int case_sensitive)
{
    item *cur = o->child;
    while (cur != NULL) {
        int same = case_sensitive ? strcmp(name, cur->name) : strcasecmp(name, cur->name);
        if (same == 0) {
            return cur;
        }
        cur = cur->next;
    }
    return NULL;
}

/* Look a child up by name. */
item *obj_get_item(const object *o, const char *name)
{
    return get_item(o, name, 0);
}

item *obj_first(const object *o)
{
    return o->child;
}
"""


def _row(p: Packer, symbol: str) -> int:
    return p.index.symbols.index(symbol)


def test_callee_of_a_named_wrapper_gets_a_share_of_its_name_score(tmp_path: Path) -> None:
    (tmp_path / "lookup.c").write_text(LOOKUP_C)
    p = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    query = "Does obj_get_item compare names case-sensitively?"
    on = rank(p.index, query, None, Weights())
    off = rank(p.index, query, None, Weights(wrapper=0.0))
    callee, wrapper, other = (_row(p, s) for s in ("get_item", "obj_get_item", "obj_first"))
    assert on.signals["name"][wrapper] == 1.0
    assert on.signals["name"][callee] == 0.6
    assert off.signals["name"][callee] == 0.0
    assert on.signals["name"][other] == 0.0 == off.signals["name"][other]
    assert on.scores[callee] > off.scores[callee]


def test_a_plain_word_naming_a_wrapper_passes_nothing_on(tmp_path: Path) -> None:
    (tmp_path / "lookup.c").write_text(LOOKUP_C.replace("obj_get_item", "lookup"))
    p = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    ranking = rank(p.index, "How does the lookup of a child work?", None, Weights())
    assert ranking.signals["name"][_row(p, "lookup")] > 0  # an English word, weakly
    assert ranking.signals["name"][_row(p, "get_item")] == 0.0
