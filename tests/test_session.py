"""Session-aware packing: a chunk sent in full is not sent again, and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from contextpack import ConfigError, ContextpackError, Packer, Session, SourceError
from contextpack.cli import main
from contextpack.tokens import get_tokenizer

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ranking"
FIRST = "adding an item to the cart fails for some products"
SECOND = "cart item prices and discounts"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    dest = tmp_path / "shop-repo"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns(".contextpack"))
    return dest


def full_spans(pack) -> set[tuple[str, int, int]]:
    return {(i.path, i.start_line, i.end_line) for i in pack.items if i.view == "full"}


def test_second_overlapping_pack_sends_no_chunk_twice_and_names_what_it_skipped(
        shop: Path) -> None:
    packer = Packer(shop)
    session = Session()
    first = packer.pack(FIRST, 500, session=session)
    alone = packer.pack(SECOND, 500)  # the same question without the session
    second = packer.pack(SECOND, 500, session=session)
    sent = full_spans(first)
    assert sent and full_spans(alone) & sent, "the questions must overlap for this test"
    assert not full_spans(second) & sent
    skipped = {(c.path, c.start_line, c.end_line) for c in second.already_sent}
    assert full_spans(alone) & sent <= skipped <= sent
    header = second.text.split("\n\n", 1)[0]
    assert "Already in context, not repeated" in header
    for path, start, end in skipped:
        assert f"{path}:{start}-{end}" in header
    # the freed tokens went to other material, and the budget held
    assert second.tokens <= 500
    assert get_tokenizer("cl100k_base").count(second.text) == second.tokens
    assert len(session) == len(sent | full_spans(second))


def test_fresh_resends_everything(shop: Path) -> None:
    packer = Packer(shop)
    session = Session()
    first = packer.pack(FIRST, 500, session=session)
    again = packer.pack(FIRST, 500, session=session, fresh=True)
    assert full_spans(again) == full_spans(first)
    assert not again.already_sent
    assert "Already in context" not in again.text


def test_a_chunk_edited_since_it_was_sent_is_sent_again(shop: Path) -> None:
    packer = Packer(shop)
    session = Session()
    first = packer.pack(FIRST, 500, session=session)
    assert ("shop/cart.py", 13, 19) in full_spans(first)
    cart = shop / "shop" / "cart.py"
    cart.write_text(cart.read_text().replace("quantity", "qty"))
    packer.refresh()
    second = packer.pack(FIRST, 500, session=session)
    assert ("shop/cart.py", 13, 19) in full_spans(second)
    assert "qty" in second.text


def test_the_in_context_list_shrinks_to_keep_small_budgets(shop: Path) -> None:
    packer = Packer(shop)
    session = Session()
    packer.pack("", 4000, session=session)  # everything, in full
    tokenizer = get_tokenizer("cl100k_base")
    for budget in (120, 160, 200, 300, 600):
        pack = packer.pack(FIRST, budget, session=session)
        assert pack.tokens <= budget
        assert tokenizer.count(pack.text) == pack.tokens
        assert pack.already_sent and not full_spans(pack) & set(session.sent())


def test_json_lists_already_in_context(shop: Path) -> None:
    packer = Packer(shop)
    session = Session()
    packer.pack(FIRST, 500, session=session)
    doc = json.loads(packer.pack(SECOND, 500, "json", session=session).text)
    assert doc["already_in_context"]
    assert set(doc["already_in_context"][0]) == {"path", "start_line", "end_line", "symbol"}
    assert doc["tokens"] <= doc["budget"]


def test_session_file_round_trip_and_api(shop: Path, tmp_path: Path) -> None:
    import contextpack

    path = tmp_path / "session.json"
    first = contextpack.pack(FIRST, shop, 500, session=path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "contextpack-session" and doc["version"] == 1
    assert {tuple(e[:3]) for e in doc["sent"]} == full_spans(first)
    second = contextpack.pack(SECOND, shop, 500, session=path)
    assert not full_spans(second) & full_spans(first)
    assert not list(tmp_path.glob("*.tmp*"))  # written through a rename, nothing left over


def test_cli_session_and_fresh(shop: Path, tmp_path: Path) -> None:
    session = tmp_path / "s.json"
    runner = CliRunner()
    args = ["build", str(shop), "--budget", "500", "-q", "--session", str(session)]
    first = runner.invoke(main, [*args, "--query", FIRST])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, [*args, "--query", FIRST])
    assert "Already in context, not repeated" in second.output
    fresh = runner.invoke(main, [*args, "--query", FIRST, "--fresh"])
    assert fresh.output == first.output
    lonely = runner.invoke(main, ["build", str(shop), "--budget", "500", "--fresh"])
    assert lonely.exit_code == 2 and "--fresh needs --session" in lonely.output


@pytest.mark.parametrize("content", [
    b"not json",
    b"\xff\xfe",
    b"[]",
    b'{"format": "something-else", "version": 1, "sent": []}',
    b'{"format": "contextpack-session", "version": 99, "sent": []}',
    b'{"format": "contextpack-session", "version": 1, "sent": {}}',
    b'{"format": "contextpack-session", "version": 1, "sent": [["a.py", 0, 3, "' + b"0" * 32
    + b'"]]}',
    b'{"format": "contextpack-session", "version": 1, "sent": [["a.py", 5, 3, "' + b"0" * 32
    + b'"]]}',
    b'{"format": "contextpack-session", "version": 1, "sent": [["a.py", 1, 3, "zz"]]}',
    b'{"format": "contextpack-session", "version": 1, "sent": [["", 1, 3, "' + b"0" * 32
    + b'"]]}',
    b'{"format": "contextpack-session", "version": 1, "sent": [["a.py", true, 3, "' + b"0" * 32
    + b'"]]}',
])
def test_a_file_that_is_not_a_session_is_an_error_and_left_alone(
        tmp_path: Path, shop: Path, content: bytes) -> None:
    path = tmp_path / "notes.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="is not a contextpack session file"):
        Session(path)
    result = CliRunner().invoke(main, ["build", str(shop), "--budget", "500", "-q",
                                       "--session", str(path), "--query", FIRST])
    assert result.exit_code == 1 and "not a contextpack session file" in result.output
    assert path.read_bytes() == content


def test_an_empty_file_is_an_empty_session(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_bytes(b"")
    assert len(Session(path)) == 0


def test_include_and_exclude_narrow_one_pack(shop: Path) -> None:
    packer = Packer(shop)
    only = packer.pack(FIRST, 2000, include=["shop/backends/"])
    assert only.items and {i.path for i in only.items} <= {"shop/backends/postgres.py",
                                                           "shop/backends/sqlite.py"}
    without = packer.pack(FIRST, 2000, exclude=["cart.py"])
    assert without.items and "shop/cart.py" not in {i.path for i in without.items}
    mapped = packer.pack("", 2000, include=["pricing.py"])
    assert {i.path for i in mapped.items} == {"shop/pricing.py"}
    with pytest.raises(SourceError, match="no indexed file matches"):
        packer.pack(FIRST, 2000, include=["*.rs"])


@pytest.fixture(scope="module")
def shop_packer(tmp_path_factory: pytest.TempPathFactory) -> Packer:
    dest = tmp_path_factory.mktemp("shop") / "shop-repo"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns(".contextpack"))
    return Packer(dest)


def test_any_budget_holds_with_any_session(shop_packer: Packer) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    rows = list(range(shop_packer.index.n_chunks))
    count = get_tokenizer("cl100k_base").count

    @settings(max_examples=40, deadline=None)
    @given(budget=st.integers(100, 3000), sent=st.sets(st.sampled_from(rows)),
           fmt=st.sampled_from(["markdown", "xml"]), query=st.sampled_from([FIRST, SECOND, ""]))
    def check(budget: int, sent: set[int], fmt: str, query: str) -> None:
        from contextpack.types import Item

        session = Session()
        session.record(Item(shop_packer.index.chunk(r), "full", 0, 0.0) for r in sent)
        try:
            pack = shop_packer.pack(query, budget, fmt, session=session)
        except ContextpackError:
            return  # a budget below the header is refused, never overrun
        assert count(pack.text) == pack.tokens <= budget
        shown = {(i.path, i.start_line, i.end_line) for i in pack.items}
        held = {(c.path, c.start_line, c.end_line) for c in pack.already_sent}
        assert held <= {tuple(k) for k in sent_keys(shop_packer, sent)}
        assert not held & shown  # nothing named as held is also in the pack
        # nothing sent before comes back, in any view
        assert not shown & {tuple(k) for k in sent_keys(shop_packer, sent)}

    check()


def sent_keys(packer: Packer, rows: set[int]) -> list[tuple[str, int, int]]:
    return [(c.path, c.start_line, c.end_line) for c in map(packer.index.chunk, rows)]
