"""Chunkers: the symbols each language fixture must yield, and the three views."""

from __future__ import annotations

import pytest

from contextpack.chunk import chunk_source
from contextpack.sources import FileStat, read_source
from contextpack.types import SourceFile, digest

from .conftest import LANGUAGES

# file -> {symbol: kind} that the chunker must produce (others may appear too)
EXPECTED = {
    "sample.py": {"add": "function", "decorated": "function", "Greeter": "class",
                  "Greeter.__init__": "method", "Greeter.greet": "method",
                  "Greeter.Inner": "class", "Greeter.Inner.deep": "method", "total": "function"},
    "sample.js": {"add": "function", "multiply": "function", "Greeter": "class",
                  "Greeter.constructor": "method", "Greeter.greet": "method", "total": "function"},
    "sample.ts": {"Named": "type", "Id": "type", "Color": "type", "add": "function",
                  "Greeter": "class", "Greeter.greet": "method", "total": "function"},
    "sample.tsx": {"Props": "type", "Greeting": "function", "Counter": "class",
                   "Counter.render": "method"},
    "sample.go": {"Greeter": "type", "Add": "function", "Greeter.Greet": "method",
                  "Total": "function"},
    "sample.rs": {"Greeter": "type", "add": "function", "Greeter.new": "method",
                  "Greeter.greet": "method", "Shape": "class", "Shape.area": "method",
                  "Greeter.fmt": "method", "Color": "type", "inner.total": "method"},
    "Sample.java": {"Greeter": "class", "Greeter.Greeter": "method", "Greeter.greet": "method",
                    "Greeter.add": "method", "Greeter.Shape": "class",
                    "Greeter.Color": "class", "Greeter.total": "method"},
    "sample.c": {"greeter": "type", "point_t": "type", "add": "function", "greet": "function",
                 "total": "function"},
    "sample.cpp": {"add": "function", "Greeter": "class", "Greeter.greet": "method",
                   "total": "function", "Point": "class", "Greeter_count": "function"},
    "sample.cs": {"Greeter": "class", "Greeter.Greet": "method", "Greeter.Add": "method",
                  "IShape": "class", "Color": "type", "MathUtil.Total": "method"},
    "sample.rb": {"add": "function", "Sample": "class", "Sample.Greeter": "class",
                  "Sample.Greeter.initialize": "method", "Sample.Greeter.greet": "method",
                  "Sample.Greeter.build": "method", "total": "function"},
    "sample.php": {"add": "function", "Named": "class", "Greeter": "class",
                   "Greeter.__construct": "method", "Greeter.greet": "method",
                   "Counts.total": "method"},
    "sample.md": {"Sample project": "section", "Sample project > Install": "section",
                  "Sample project > Usage > Greeting people": "section",
                  "Sample project > Usage > Adding numbers": "section"},
    "sample.rst": {"Sample project": "section", "Sample project > Install": "section",
                   "Sample project > Usage > Greeting people": "section",
                   "Sample project > Usage > Adding numbers": "section"},
}


def load(name: str) -> SourceFile:
    path = LANGUAGES / name
    st = path.stat()
    src = read_source(FileStat(name, str(path), st.st_size, st.st_mtime_ns))
    assert isinstance(src, SourceFile)
    return src


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_language_fixture_yields_its_symbols(name: str) -> None:
    chunks = chunk_source(load(name))
    found = {(c.symbol, c.kind) for c in chunks}
    for symbol, kind in EXPECTED[name].items():
        assert (symbol, kind) in found, f"{name}: missing {kind} {symbol}; got {sorted(found)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunks_are_exact_line_spans_in_order(name: str) -> None:
    src = load(name)
    lines = src.text.split("\n")
    chunks = chunk_source(src)
    assert chunks
    previous_end = 0
    for c in chunks:
        assert c.path == name
        assert 1 <= c.start_line <= c.end_line <= len(lines)
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
        assert c.start_line > previous_end, "chunks must not overlap"
        previous_end = c.end_line


def test_python_views() -> None:
    chunks = {c.symbol: c for c in chunk_source(load("sample.py"))}
    greet = chunks["Greeter.greet"]
    assert greet.view_text("full").startswith("    def greet(self, times: int = 1) -> str:")
    assert "return" in greet.view_text("full")
    assert greet.view_text("skeleton") == (
        '    def greet(self, times: int = 1) -> str:\n'
        '        """Build the greeting."""\n'
        '        ...'
    )
    assert greet.view_text("mention") == "sample.py:27-30 method Greeter.greet"
    assert greet.context == "class Greeter(object):"
    assert chunks["Greeter.Inner.deep"].context == "class Greeter(object):\n    class Inner:"


@pytest.mark.parametrize(
    ("name", "symbol", "skeleton"),
    [
        ("sample.go", "Add", "// Add returns the sum of a and b.\nfunc Add(a, b int) int { ... }"),
        ("sample.c", "add", "/* Return the sum of a and b. */\nint add(int a, int b)\n{ ... }"),
        ("sample.js", "multiply", "const multiply = (a, b) => { ... }"),
        ("sample.rb", "add", "# Return the sum of a and b.\ndef add(a, b)\n  ...\nend"),
        ("sample.rs", "add", "/// Return the sum of a and b.\npub fn add(a: i32, b: i32) -> i32 { ... }"),
    ],
)
def test_brace_and_ruby_skeletons(name: str, symbol: str, skeleton: str) -> None:
    chunks = {c.symbol: c for c in chunk_source(load(name))}
    assert chunks[symbol].skeleton == skeleton


def test_references_feed_the_graph() -> None:
    chunks = {c.symbol: c for c in chunk_source(load("sample.py"))}
    assert "add" in chunks["total"].refs
    assert "add" in chunks["Greeter.Inner.deep"].refs
    assert chunks["add"].defs == ("add",)
    module = next(c for c in chunk_source(load("sample.py")) if c.kind == "module")
    assert "DEFAULT_GREETING" in module.defs


def test_plain_text_by_paragraphs() -> None:
    chunks = chunk_source(load("notes.txt"))
    assert [c.kind for c in chunks] == ["paragraph"]
    assert chunks[0].start_line == 1


def test_oversized_function_is_cut_at_statements() -> None:
    body = "\n".join(f"    x{i} = compute({i})  # step {i}" for i in range(400))
    text = f"def big():\n{body}\n    return x0\n"
    src = SourceFile("big.py", text, "python", digest(text), len(text))
    chunks = chunk_source(src, max_chars=2000)
    parts = [c for c in chunks if c.symbol == "big"]
    assert len(parts) > 3
    assert all(c.parts == len(parts) for c in parts)
    assert [c.part for c in parts] == list(range(1, len(parts) + 1))
    assert all(len(c.text) <= 2100 for c in parts)
    assert parts[0].text.startswith("def big():")
    covered = {n for c in parts for n in range(c.start_line, c.end_line + 1)}
    assert covered == set(range(1, text.count("\n") + 1))


def test_unknown_language_falls_back_to_line_windows() -> None:
    text = "\n".join(f"key{i}: value{i}" for i in range(150)) + "\n"
    src = SourceFile("config.yaml", text, "other", digest(text), len(text))
    chunks = chunk_source(src)
    assert all(c.kind == "lines" for c in chunks)
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 150


def test_broken_code_falls_back_and_keeps_its_lines() -> None:
    text = "}}} ((( def class ]]] \n" * 50
    src = SourceFile("broken.py", text, "python", digest(text), len(text))
    chunks = chunk_source(src)
    assert chunks
    assert min(c.start_line for c in chunks) == 1
    assert max(c.end_line for c in chunks) == 50


def test_rst_titles_are_read_from_their_adornments() -> None:
    """Overlined and underlined titles give the heading path; a title after a simple
    table is still one; ``::`` (a literal block) and a short rule inside a paragraph are
    not titles."""
    from contextpack.chunk import chunk_source
    from contextpack.types import SourceFile, digest

    text = "\n".join([
        "=======", " Guide", "=======", "", "Intro text.", "",
        "Options", "-------", "", "=====  =====", "name   what", "=====  =====",
        "a      first", "=====  =====", "",
        "Methods", "-------", "", "Call it like this::", "", "    f(x)", "",
        "**Example table:**", "::", "", "    a b", "", "Not a title", "--", "",
        "Limits", "~~~~~~", "", "Small print.", ""])
    src = SourceFile("guide.rst", text, "rst", digest(text), len(text))
    symbols = [c.symbol for c in chunk_source(src, 1500)]
    assert symbols == ["Guide", "Guide > Options", "Guide > Methods",
                       "Guide > Methods > Limits"]
