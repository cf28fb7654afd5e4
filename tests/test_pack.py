"""Packing: the budget is a hard limit on the whole rendered output, in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextpack.api import Packer, Settings
from contextpack.errors import BudgetError
from contextpack.tokens import get_tokenizer

QUERIES = ["how does the greeter greet people", "add two numbers", "", "Greeter.greet",
           "install the sample project"]


@pytest.fixture(scope="module")
def packer(session_repo: Path) -> Packer:
    return Packer(session_repo, Settings(use_cache=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=90, max_value=6000),
       query=st.sampled_from(QUERIES),
       fmt=st.sampled_from(["markdown", "xml", "json"]))
def test_output_never_exceeds_the_budget(packer: Packer, budget: int, query: str, fmt: str) -> None:
    enc = get_tokenizer("cl100k_base")
    p = packer.pack(query, budget, fmt)
    context = json.loads(p.text)["context"] if fmt == "json" else p.text
    assert enc.count(context) == p.tokens
    assert p.tokens <= budget


def test_budget_below_the_header_is_a_clear_error(packer: Packer) -> None:
    with pytest.raises(BudgetError, match=r"budget 20 is smaller than the header \(\d+ tokens\)"):
        packer.pack("greet", 20)
    with pytest.raises(BudgetError, match="positive"):
        packer.pack("greet", 0)
    with pytest.raises(BudgetError, match="positive"):
        packer.pack("greet", -5)


def test_same_inputs_give_byte_identical_output(session_repo: Path) -> None:
    a = Packer(session_repo, Settings(use_cache=False)).pack("greet people", 900, "json").text
    b = Packer(session_repo, Settings(use_cache=False)).pack("greet people", 900, "json").text
    assert a == b


def test_items_are_ordered_by_file_then_line(packer: Packer) -> None:
    p = packer.pack("greeting", 3000)
    keys = [(i.path, i.start_line) for i in p.items]
    assert keys == sorted(keys)
    assert len({(i.path, i.start_line, i.view) for i in p.items}) == len(p.items)


def test_the_best_match_is_shown_in_full(packer: Packer) -> None:
    p = packer.pack("Greeter.greet builds the greeting times", 800)
    full = {(i.path, i.chunk.symbol) for i in p.items if i.view == "full"}
    assert ("sample.py", "Greeter.greet") in full


def test_tight_budgets_shrink_views(packer: Packer) -> None:
    small = packer.pack("greet", 250)
    large = packer.pack("greet", 5000)
    assert small.tokens <= 250
    assert len(large.items) > len(small.items)
    assert sum(i.view == "full" for i in large.items) > sum(i.view == "full" for i in small.items)


def test_json_contract(packer: Packer) -> None:
    doc = json.loads(packer.pack("add numbers", 1200, "json").text)
    assert set(doc) == {"budget", "tokens", "encoding", "query", "context", "items", "left_out",
                        "skipped", "stats"}
    assert doc["budget"] == 1200 and doc["encoding"] == "cl100k_base"
    assert doc["tokens"] == get_tokenizer().count(doc["context"]) <= 1200
    for item in doc["items"]:
        assert set(item) == {"path", "start_line", "end_line", "kind", "symbol", "view",
                             "tokens", "score", "reason"}
        assert f"score {item['score']:.3f}" in item["reason"]
        assert item["view"] in ("full", "skeleton", "mention")
        assert 1 <= item["start_line"] <= item["end_line"]
        assert not item["path"].startswith("/")
    for left in doc["left_out"]:
        assert left["reason"] and left["score"] <= max(i["score"] for i in doc["items"])


def test_xml_is_well_formed(packer: Packer) -> None:
    root = ET.fromstring(packer.pack("greet", 2000, "xml").text)
    assert root.tag == "context"
    assert root.find("file") is not None


def test_no_query_ranks_by_structure_and_says_so(packer: Packer) -> None:
    p = packer.pack("", 1500)
    assert "No query: ranked by structure" in p.text
    assert p.stats["ranking"] == "structure"
    assert p.items


def test_reserve_takes_room_off_the_budget(packer: Packer) -> None:
    p = packer.pack("greet", 2000, reserve=1500)
    assert p.budget == 500 and p.tokens <= 500


def test_value_is_measured_from_the_score_floor() -> None:
    from contextpack.fit import _value

    assert _value(2.0, 2.0, 4.0, floor=1.5) == pytest.approx(1.0 + 1e-3)
    assert _value(1.75, 2.0, 4.0, floor=1.5) == pytest.approx(0.5 ** 4 + 1e-3 * 0.875 ** 4)
    # below the floor a trace of it, so such chunks still fill room nothing better wants
    assert _value(1.2, 2.0, 4.0, floor=1.5) == pytest.approx(1e-3 * 0.6 ** 4)
    assert _value(1.2, 2.0, 4.0) == pytest.approx(0.6 ** 4)  # no floor: from zero


def test_value_never_falls_as_the_score_rises() -> None:
    """Across the floor too: a chunk just above it was worth less than one below it, so
    the knapsack preferred worse chunks to those just above the floor."""
    from contextpack.fit import _value

    scores = np.linspace(0.01, 2.0, 400)
    values = [_value(float(s), 2.0, 4.0, floor=1.2) for s in scores]
    assert all(b >= a for a, b in zip(values, values[1:]))


def test_the_score_floor_is_where_full_views_reach_the_tokens(packer: Packer) -> None:
    """For a plain question, chunks of the file that matches share its file signals and
    their scores crowd just below the best; value is measured from the score of the chunk
    at which the full views, best first, add up to two budgets."""
    from contextpack.fit import _score_floor
    from contextpack.rank import rank

    index = packer.index
    ranking = rank(index, "how does the greeter greet people")
    order = ranking.order()
    spent = 0
    for k, r in enumerate(order):
        spent += int(index.tok_full[r])
        if spent >= 60:
            break
    assert _score_floor(index, ranking, order, 60) == pytest.approx(float(ranking.scores[order[k]]))
    assert _score_floor(index, ranking, order, 0) == 0.0


def test_the_score_floor_leaves_queries_naming_code_alone(session_repo: Path) -> None:
    from contextpack.fit import PackOptions

    def text(query: str, reach: float) -> str:
        options = PackOptions(plain_floor_reach=reach)
        return Packer(session_repo, Settings(use_cache=False, pack=options)).pack(
            query, 300, "json").text

    assert text("Greeter.greet", 2.0) == text("Greeter.greet", 0.0)
    assert text("how does the greeter greet people", 2.0) != \
        text("how does the greeter greet people", 0.0)
