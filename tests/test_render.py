"""Renderers: one per format behind ``render.Renderer``, registered in one place."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

from contextpack import config, render
from contextpack.api import Packer, Settings
from contextpack.errors import ConfigError
from contextpack.render import FORMATS, RENDERERS, Header, renderer_for
from contextpack.render.base import item_label
from contextpack.tokens import get_tokenizer
from contextpack.types import Item

from .conftest import FIXTURES

TINY = FIXTURES / "breadth" / "tiny"


def test_formats_have_one_home() -> None:
    assert FORMATS == tuple(RENDERERS) and FORMATS[0] == "markdown"  # the default first
    for name, r in RENDERERS.items():
        assert r.name == name and r.extension.startswith(".") and "/" in r.media_type
        assert config.default_output(name).endswith(r.extension)


def test_the_mcp_tools_format_choices_are_the_formats() -> None:
    """The MCP schema spells the choices as a Literal (a copy, pinned here)."""
    serve = pytest.importorskip("contextpack.serve")
    hints = get_type_hints(serve.Server.pack, include_extras=True)
    assert set(get_args(hints["format"])) == set(FORMATS)


def test_an_unknown_format_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="choose one of markdown, xml, json"):
        renderer_for("html")
    with pytest.raises(ConfigError, match="unknown format"):
        Packer(TINY, Settings(use_cache=False, embedder="none")).pack("retry", 500, "yaml")


class PlainRenderer:
    """A format in a few lines: what the protocol asks, and nothing shared."""

    name = "plain"
    extension = ".txt"
    media_type = "text/plain"

    def header(self, h: Header) -> str:
        return f"CONTEXT {h.tokens} OF {h.budget}: {render.summary_line(h)}\n\n"

    def file_header(self, path: str) -> str:
        return f"== {path}\n"

    def file_footer(self) -> str:
        return "==\n"

    def item(self, item: Item, previous: Item | None) -> str:
        return f"{item_label(item)}\n{item.chunk.view_text(item.view)}\n"

    def whole_file(self, items: Sequence[Item]) -> str:
        return self.file_header(items[0].path) + "".join(self.item(i, None) for i in items) + \
            self.file_footer()

    def join(self, head: str, blocks: Sequence[str]) -> str:
        return head + "".join(blocks)

    def counted(self, blocks: list[str]) -> list[str]:
        return blocks

    def document(self, context: str, header: Header, **parts: Any) -> str:
        return context


@pytest.mark.parametrize("budget", [120, 200, 333, 5000])
def test_a_new_format_is_one_class_and_its_budgets_are_hard(
        monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    monkeypatch.setitem(RENDERERS, "plain", PlainRenderer())
    pack = Packer(TINY, Settings(use_cache=False, encoding="cl100k_base")).pack(
        "retry with backoff", budget, "plain")
    assert pack.text.startswith(f"CONTEXT {pack.tokens} OF {budget}: ")
    assert get_tokenizer("cl100k_base").count(pack.text) == pack.tokens <= budget
    assert "== retry.py\n" in pack.text


def test_json_is_markdown_in_an_envelope(session_repo: Path) -> None:
    packer = Packer(session_repo, Settings(use_cache=False))
    md = packer.pack("greet people", 700, "markdown")
    doc = json.loads(packer.pack("greet people", 700, "json").text)
    assert doc["context"] == md.text and doc["tokens"] == md.tokens
