"""The MCP server through the SDK's own client: in memory, and as a stdio subprocess."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import anyio  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from contextpack.serve import TOOL_BUDGET, Server, parse_address  # noqa: E402
from contextpack.tokens import get_tokenizer  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ranking"
FIRST = "adding an item to the cart fails for some products"
SECOND = "cart item prices and discounts"
TOOLS = {"pack", "search", "expand", "outline", "related"}
COUNT = get_tokenizer("cl100k_base").count


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    dest = tmp_path / "shop-repo"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns(".contextpack"))
    return dest


def run(server: Any, body: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with Client(server) as client:
            await body(client)

    anyio.run(main)


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content)


def spans(result: Any) -> set[tuple[str, int, int]]:
    """(path, start, end) of the full items of a markdown pack, read from its text."""
    out = set()
    path = ""
    lines = text_of(result).split("\n")
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("## "):
            path = line[3:]
        elif line.startswith("L") and after.startswith("```") and "(skeleton)" not in line:
            a, _, b = line.split()[0][1:].partition("-")
            out.add((path, int(a), int(b or a)))
    return out


@pytest.fixture
def server(shop: Path) -> Server:
    srv = Server([str(shop)])
    yield srv
    srv.live.close()


def test_every_tool_is_listed_read_only_with_a_short_description(server: Server) -> None:
    async def body(client: Client) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.annotations is not None and tool.annotations.read_only_hint
            assert tool.output_schema is not None
            assert 20 < len(tool.description or "") < 400

    run(server.app, body)


def test_pack_holds_the_budget_and_skips_what_the_session_has(server: Server) -> None:
    async def body(client: Client) -> None:
        first = await client.call_tool("pack", {"query": FIRST, "budget": 500})
        assert not first.is_error
        assert COUNT(text_of(first)) == first.structured_content["tokens"] <= 500
        alone = spans(first)
        second = await client.call_tool("pack", {"query": SECOND, "budget": 500})
        assert COUNT(text_of(second)) <= 500
        assert spans(second) and not spans(second) & alone  # nothing sent twice
        assert second.structured_content["already_in_context"] > 0
        header = text_of(second).split("\n\n", 1)[0]
        assert "Already in context, not repeated" in header
        assert "shop/cart.py:13-19 Cart.add_item" in header  # says which it skipped
        again = await client.call_tool("pack", {"query": FIRST, "budget": 500, "fresh": True})
        assert spans(again) == alone
        for budget in (150, 300, 2000, TOOL_BUDGET):
            got = await client.call_tool("pack", {"query": SECOND, "budget": budget})
            assert COUNT(text_of(got)) <= budget

    run(server.app, body)


def test_pack_formats_filters_and_large_budgets(server: Server) -> None:
    async def body(client: Client) -> None:
        import json

        doc = await client.call_tool("pack", {"query": FIRST, "budget": 800, "format": "json"})
        parsed = json.loads(text_of(doc))
        assert parsed["tokens"] <= 800 and COUNT(parsed["context"]) == parsed["tokens"]
        only = await client.call_tool("pack", {"query": FIRST, "budget": 800, "fresh": True,
                                               "include": ["shop/backends/"]})
        assert {p for p, _, _ in spans(only)} <= {"shop/backends/postgres.py",
                                                  "shop/backends/sqlite.py"}
        big = await client.call_tool("pack", {"query": FIRST, "budget": 40000})
        assert "over 25,000" in big.structured_content["note"]

    run(server.app, body)


def test_search_expand_outline_related(server: Server) -> None:
    async def body(client: Client) -> None:
        found = await client.call_tool("search", {"query": "save the cart", "limit": 3})
        hits = found.structured_content["hits"]
        assert len(hits) == 3 and hits[0]["symbol"].endswith("save_cart")
        assert set(hits[0]) >= {"path", "start_line", "end_line", "symbol", "kind", "score",
                                "tokens"} and set(hits[0]["tokens"]) == {"full", "skeleton"}
        assert "def save_cart" not in text_of(found)  # no bodies
        grown = await client.call_tool("expand", {"path": "shop/cart.py", "symbol": "Cart"})
        body_text = text_of(grown)
        assert "def add_item" in body_text and "def total" in body_text  # the class, whole
        assert grown.structured_content["tokens"] == COUNT(body_text)
        by_lines = await client.call_tool("expand", {"path": "shop/pricing.py",
                                                     "lines": "6-8"})
        assert "return CATALOGUE[sku]" in text_of(by_lines)
        # what expand sent is in context: pack does not send it again
        pack = await client.call_tool("pack", {"query": FIRST, "budget": 600})
        assert ("shop/cart.py", 13, 19) not in spans(pack)
        seen = await client.call_tool("search", {"query": "add item to cart", "limit": 5})
        assert any(h["in_context"] for h in seen.structured_content["hits"])
        members = await client.call_tool("outline", {"path": "shop/cart.py"})
        assert "L13-19 method Cart.add_item" in text_of(members)
        assert len(members.structured_content["members"]) == 5
        whole = await client.call_tool("outline", {})
        assert whole.structured_content["tokens"] <= 8000 and "## shop/" in text_of(whole)
        related = await client.call_tool("related", {"symbol": "price_of"})
        callers = {c["symbol"] for c in related.structured_content["callers"]}
        assert "Cart.add_item" in callers
        callees = await client.call_tool("related", {"symbol": "Cart.add_item"})
        assert "price_of" in {c["symbol"] for c in callees.structured_content["callees"]}

    run(server.app, body)


@pytest.mark.parametrize(("tool", "args", "message"), [
    ("expand", {"path": "/etc/passwd", "lines": "1-2"}, "outside the roots"),
    ("expand", {"path": "../../etc/passwd", "lines": "1"}, "outside the roots"),
    ("expand", {"path": "shop/carts.py", "symbol": "Cart"}, "did you mean shop/cart.py"),
    ("expand", {"path": "shop/cart.py", "symbol": "Nope"}, "has no symbol 'Nope'"),
    ("expand", {"path": "shop/cart.py"}, "give either symbol"),
    ("expand", {"path": "shop/cart.py", "lines": "9-3"}, "1 <= START <= END"),
    ("outline", {"path": "nowhere.py"}, "not an indexed file"),
    ("pack", {"query": "x", "budget": 10}, "smaller than the header"),
    ("pack", {"query": "x", "budget": 0}, "positive number of tokens"),
    ("pack", {"query": "x", "budget": "lots"}, "budget"),
    ("pack", {"query": "x", "format": "pdf"}, "format"),
    ("pack", {"query": "x", "include": ["*.rs"]}, "no indexed file matches"),
    ("search", {"query": "cart", "limit": 0}, "out of range"),
    ("search", {"query": "  "}, "query is empty"),
    ("related", {"symbol": "no_such_thing"}, "no definition"),
])
def test_bad_arguments_are_tool_errors(server: Server, shop: Path, tool: str,
                                       args: dict[str, Any], message: str) -> None:
    before = {p: p.read_bytes() for p in shop.rglob("*.py")}

    async def body(client: Client) -> None:
        result = await client.call_tool(tool, args)
        assert result.is_error and message in text_of(result)
        fine = await client.call_tool("search", {"query": "cart", "limit": 1})
        assert not fine.is_error  # still serving

    run(server.app, body)
    assert {p: p.read_bytes() for p in shop.rglob("*.py")} == before  # sources untouched


def test_an_edit_between_two_calls_is_reflected(shop: Path) -> None:
    server = Server([str(shop)])  # watching
    cart = shop / "shop" / "cart.py"

    async def body(client: Client) -> None:
        await client.call_tool("search", {"query": "cart", "limit": 1})  # index loaded
        assert server.live.watching
        seen = server.live.changes_seen
        cart.write_text(cart.read_text() + "\n\ndef refund_everything(cart):\n"
                        '    """Give the money back."""\n    return cart.total()\n')
        deadline = time.monotonic() + 20
        while server.live.changes_seen == seen and time.monotonic() < deadline:
            await anyio.sleep(0.05)  # the watcher's event, usually within 0.1 s
        assert server.live.changes_seen > seen
        found = await client.call_tool("search", {"query": "refund everything", "limit": 1})
        assert found.structured_content["hits"][0]["symbol"] == "refund_everything"
        got = await client.call_tool("expand", {"path": "shop/cart.py",
                                                "symbol": "refund_everything"})
        assert "Give the money back" in text_of(got)

    try:
        run(server.app, body)
    finally:
        server.live.close()


def test_without_a_watcher_each_call_stats_the_tree(shop: Path) -> None:
    server = Server([str(shop)], watch=False)
    pricing = shop / "shop" / "pricing.py"

    async def body(client: Client) -> None:
        first = await client.call_tool("expand", {"path": "shop/pricing.py", "lines": "3"})
        assert "melon" in text_of(first)
        pricing.write_text(pricing.read_text().replace('"melon": 250', '"kiwi": 20'))
        second = await client.call_tool("expand", {"path": "shop/pricing.py", "lines": "3"})
        assert "kiwi" in text_of(second) and "melon" not in text_of(second)

    run(server.app, body)


def test_snapshots_are_resources(shop: Path) -> None:
    (shop / ".contextpack").mkdir(exist_ok=True)
    (shop / ".contextpack" / "snapshot.md").write_text("# the map\n")
    (shop / ".contextpack.toml").write_text(
        '[[queries]]\nquery = "carts"\noutput = "docs/carts.md"\n')
    server = Server([str(shop)])

    async def body(client: Client) -> None:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        assert set(listed) == {"contextpack://snapshot/.contextpack/snapshot.md",
                               "contextpack://snapshot/docs/carts.md"}
        got = await client.read_resource("contextpack://snapshot/.contextpack/snapshot.md")
        assert got.contents[0].text == "# the map\n"
        with pytest.raises(Exception, match="not written yet"):
            await client.read_resource("contextpack://snapshot/docs/carts.md")

    try:
        run(server.app, body)
    finally:
        server.live.close()


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_address(":9000") == ("127.0.0.1", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("8765", "host:", "host:70000", "host:http"):
        with pytest.raises(Exception, match="HOST:PORT"):
            parse_address(bad)


def stdio(root: Path, *extra: str) -> StdioServerParameters:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                         env.get("PYTHONPATH", "")])
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "contextpack", "mcp", str(root), "-q", *extra],
                                 env=env)


def test_a_real_stdio_session(shop: Path) -> None:
    cart = shop / "shop" / "cart.py"

    async def body(client: Client) -> None:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        first = await client.call_tool("pack", {"query": FIRST, "budget": 500})
        assert COUNT(text_of(first)) <= 500
        second = await client.call_tool("pack", {"query": SECOND, "budget": 500})
        assert COUNT(text_of(second)) <= 500
        assert not spans(second) & spans(first)
        assert "Already in context, not repeated" in text_of(second)
        hits = await client.call_tool("search", {"query": "cart total", "limit": 2})
        assert hits.structured_content["hits"]
        for tool, args in (("expand", {"path": "shop/cart.py", "symbol": "Cart.total"}),
                           ("outline", {"path": "shop/cart.py"}),
                           ("related", {"symbol": "price_of"})):
            assert not (await client.call_tool(tool, args)).is_error
        bad = await client.call_tool("expand", {"path": "/etc/passwd", "lines": "1"})
        assert bad.is_error and "outside the roots" in text_of(bad)
        cart.write_text(cart.read_text().replace("quantity must be positive",
                                                 "quantity must be one or more"))
        edited = await client.call_tool("expand", {"path": "shop/cart.py",
                                                   "symbol": "Cart.add_item"})
        assert "one or more" in text_of(edited)

    run(stdio(shop, "--no-watch"), body)
