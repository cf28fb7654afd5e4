"""Relevance beyond Python issues: CommonJS structure, constant blocks, skeletons that
inform, changelogs, plain questions over prose, nothing vanishing, notebooks, HTML, PDF."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from contextpack import Document
from contextpack.api import Packer, Settings
from contextpack.chunk import chunk_source
from contextpack.rank import Weights, file_role, is_plain, rank
from contextpack.sources import classify_bytes
from contextpack.types import Chunk, Skipped, SourceFile

BREADTH = Path(__file__).parent.parent / "fixtures" / "breadth"


def chunks_of(path: str, text: str | bytes) -> list[Chunk]:
    data = text.encode() if isinstance(text, str) else text
    src = classify_bytes(path, data)
    assert isinstance(src, SourceFile), src
    return chunk_source(src)


def by_symbol(chunks: list[Chunk]) -> dict[str, Chunk]:
    return {c.symbol: c for c in chunks}


COMMONJS = """\
'use strict';
var DEFAULTS = {
  retries: 3,
  timeout: 1000,
};

exports.slugify = function (text) {
  return text.toLowerCase();
};

Router.prototype.handle = function handle(req, res) {
  return this.stack.length;
};

app.listen = () => {
  return server.listen();
};

module.exports = {
  parse: function (s) {
    return JSON.parse(s);
  },
  format(s) {
    return String(s);
  },
};
"""


def test_commonjs_and_prototype_assignments_are_named_functions() -> None:
    got = by_symbol(chunks_of("lib/router.js", COMMONJS))
    assert got["slugify"].kind == "function" and got["slugify"].start_line == 7
    assert got["Router.handle"].kind == "method" and got["Router.handle"].defs == ("handle",)
    assert got["app.listen"].defs == ("listen",)
    assert got["module.exports.parse"].kind == "method"
    assert got["module.exports.format"].start_line == 23
    assert got["Router.handle"].skeleton == \
        "Router.prototype.handle = function handle(req, res) { ... }"


@pytest.mark.parametrize(("path", "text", "symbol", "names"), [
    ("a.js", "const COLORS = {\n  red: 1,\n  blue: 2,\n};\n", "COLORS", ("COLORS",)),
    ("a.ts", "export const LIMITS = [\n  1,\n  2,\n];\n", "LIMITS", ("LIMITS",)),
    ("a.py", "ROUTES = {\n    'a': 1,\n    'b': 2,\n}\n", "ROUTES", ("ROUTES",)),
    ("a.go", "package p\n\nconst (\n\tMaxAge = 1\n\tMinAge = 2\n)\n", "MaxAge",
     ("MaxAge", "MinAge")),
    ("a.rs", "pub const TABLE: [u8; 3] = [\n    1,\n    2, 3];\n", "TABLE", ("TABLE",)),
    ("a.c", "static const int primes[] = {\n  2,\n  3,\n};\n", "primes", ("primes",)),
    ("a.rb", "LEVELS = {\n  debug: 0,\n  info: 1\n}.freeze\n", "LEVELS", ("LEVELS",)),
    ("a.php", "<?php\nconst SIZES = [\n  1,\n  2];\n", "SIZES", ("SIZES",)),
])
def test_top_level_constant_blocks_are_named_items(path: str, text: str, symbol: str,
                                                   names: tuple[str, ...]) -> None:
    got = by_symbol(chunks_of(path, text))
    assert got[symbol].kind == "constant"
    assert got[symbol].defs == names


@pytest.mark.parametrize(("path", "text", "symbol", "names"), [
    ("A.java", "class A {\n  void f() {}\n  private static final int MAX_REDIRECTS = 20;\n"
     "  String location;\n}\n", "A.MAX_REDIRECTS", ("MAX_REDIRECTS", "location")),
    ("A.java", "enum Mode {\n  FAST,\n  SLOW(2);\n  int v;\n}\n", "Mode.FAST",
     ("FAST", "SLOW", "v")),
    ("A.cs", "class A {\n  public const int Max = 5;\n  public event EventHandler Changed;\n}\n",
     "A.Max", ("Max", "Changed")),
    ("a.cpp", "class A {\n public:\n  void f();\n  static const int kDepth = 100;\n};\n",
     "A.kDepth", ("kDepth",)),
    ("a.php", "<?php\nclass A {\n  const X = 1, Y = 2;\n  private static $seen = [];\n}\n",
     "A.X", ("X", "Y", "seen")),
    ("a.ts", "class A {\n  static max = 3;\n  #p = 1;\n}\n", "A.max", ("max", "p")),
    ("a.rb", "module Const\n  MAX_BODY = 112 * 1024\nend\n", "Const.MAX_BODY", ("MAX_BODY",)),
    ("a.rs", "impl A {\n    const MAX: usize = 3;\n    fn f() {}\n}\n", "A.MAX", ("MAX",)),
])
def test_class_fields_and_constants_are_named_items(path: str, text: str, symbol: str,
                                                    names: tuple[str, ...]) -> None:
    got = by_symbol(chunks_of(path, text))
    assert got[symbol].kind == "field"
    assert got[symbol].defs == names
    assert got[symbol].context.lstrip().startswith(("class", "enum", "module", "impl"))


def test_field_items_end_at_blank_lines_and_stay_short() -> None:
    fields = "".join(f"  int field{i} = {i};\n" for i in range(40))
    text = f"class A {{\n  int first;\n\n  // the second group\n{fields}}}\n"
    items = [c for c in chunks_of("A.java", text) if c.kind == "field"]
    assert items[0].defs == ("first",) and items[0].end_line == 2
    assert items[1].start_line == 4  # its comment leads it
    # the declarations stay under the limit; a leading comment comes on top
    assert len(items) >= 3 and all(len(c.text.split("// the second group\n")[-1]) < 480
                                   for c in items)
    covered = [n for c in items[1:] for n in c.defs]
    assert covered == [f"field{i}" for i in range(40)]


def test_method_prototypes_and_python_attributes_are_not_fields() -> None:
    cpp = chunks_of("a.hpp", "class A {\n public:\n  void flush();\n  int *make(int n);\n};\n")
    py = chunks_of("a.py", "class A:\n    limit = 3\n\n    def f(self):\n        pass\n")
    assert not [c for c in cpp + py if c.kind == "field"]


def test_a_one_line_constant_is_findable_by_its_name() -> None:
    src = (BREADTH / "tspkg" / "src" / "util.ts").read_bytes()
    holder = next(c for c in chunks_of("util.ts", src) if "emailRegex" in c.text)
    assert "emailRegex" in holder.defs
    pack = Packer(BREADTH / "tspkg", Settings(use_cache=False, embedder="none")).pack(
        "where is emailRegex defined", 300, "json")
    best = max(pack.items, key=lambda i: i.score)
    assert (best.chunk.path, best.chunk.start_line, best.view) == ("src/util.ts", 1, "full")


def test_a_module_skeleton_outlines_its_members_not_its_imports() -> None:
    text = ("import os\nimport sys\nfrom pathlib import Path\n\n\n"
            "def load(path):\n    return Path(path).read_text()\n\n\n"
            "class Store:\n    def get(self, key):\n        return key\n")
    head = chunks_of("store.py", text)[0]
    assert head.kind == "module"
    assert "import" not in head.skeleton
    assert "# def load(path); class Store" in head.skeleton


def test_a_section_skeleton_is_its_heading_path_and_first_sentence() -> None:
    text = ("# Guide\n\nIntro.\n\n## Retries\n\nRequests are retried three times. "
            "The delay doubles each time.\n\nMore detail here.\n")
    got = by_symbol(chunks_of("guide.md", text))
    assert got["Guide > Retries"].skeleton == \
        "## Guide > Retries\nRequests are retried three times.\n..."


def test_a_skeleton_of_nothing_is_not_offered() -> None:
    for c in chunks_of("a.js", "{\n  {\n  }\n}\nfoo();\n"):
        assert any(ch.isalnum() for ch in c.skeleton.replace("...", ""))


@pytest.mark.parametrize(("path", "role"), [
    ("CHANGELOG.md", 1), ("History.md", 1), ("NEWS", 1), ("HISTORY.rst", 1),
    ("docs/releases/4.2.txt", 1), ("CHANGES", 1), ("newsletter.md", 2), ("README.md", 2),
    ("src/news.py", 0), ("debian/patches/0002-Fix-XSS.patch", 1), ("fix-overflow.diff", 1),
])
def test_changelogs_and_patches_weigh_like_tests(path: str, role: int) -> None:
    from contextpack.chunk import language_for_path

    assert file_role(path, language_for_path(path)) == role


@pytest.mark.parametrize(("path", "role"), [
    ("examples/tutorial/04_validate.rs", 3), ("example/example.cpp", 3),
    ("bench/latency.cpp", 3), ("benches/parse.rs", 3), ("src/demo/app.js", 3),
    ("examples/README.md", 2), ("src/sample.py", 0), ("src/benchmark.py", 0),
])
def test_examples_and_benchmarks_weigh_like_other_files(path: str, role: int) -> None:
    from contextpack.chunk import language_for_path

    assert file_role(path, language_for_path(path)) == role


@pytest.mark.parametrize(("path", "role"), [
    ("py_src/tokenizers/__init__.pyi", 2), ("lib/matplotlib/figure.pyi", 2),
    ("index.d.ts", 2), ("types/index.d.mts", 2), ("lib/matplotlib/figure.py", 0),
    ("src/index.ts", 0),
])
def test_declaration_stubs_weigh_like_docs(path: str, role: int) -> None:
    from contextpack.chunk import language_for_path

    assert file_role(path, language_for_path(path)) == role


TRUNCATE_RS = """\
/// Cuts a pair of encodings down to `max_len` tokens.
pub fn truncate_pair(a: &mut Vec<u32>, b: &mut Vec<u32>, max_len: usize) {
    while a.len() + b.len() > max_len {
        if a.len() >= b.len() { a.pop(); } else { b.pop(); }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_pair_longest_first() {
        let (mut a, mut b) = (vec![1, 2, 3], vec![4]);
        truncate_pair(&mut a, &mut b, 2); // pair of encodings, longest first
        assert_eq!((a.len(), b.len()), (1, 1)); // longest first: pair truncated
    }
}
"""


def test_a_rust_test_module_weighs_like_tests_and_stubs_like_docs(tmp_path: Path) -> None:
    """Rust keeps unit tests in the file they test; a .pyi stub over a native extension
    documents the API. Neither is the code a question about behaviour wants."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "truncation.rs").write_text(TRUNCATE_RS)
    (tmp_path / "tokenizers").mkdir()
    (tmp_path / "tokenizers" / "__init__.pyi").write_text(
        "class Encoding:\n    def truncate(self, max_length, stride=0):\n"
        '        """Truncate a pair of encodings to the max length, longest first:\n'
        '        the longest of the pair loses tokens first."""\n        pass\n')
    p = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    query = "how is a pair of encodings truncated to the max length, longest first?"
    ranking = rank(p.index, query, None, Weights())
    symbols = [p.index.symbols[int(r)] for r in ranking.order()[:3]]
    assert symbols[0] == "truncate_pair", symbols
    test_row = p.index.symbols.index("tests.truncate_pair_longest_first")
    stub_row = p.index.symbols.index("Encoding.truncate")
    assert float(ranking.prior[test_row]) == pytest.approx(Weights().test_prior)
    assert float(ranking.prior[stub_row]) == Weights().doc_prior
    assert float(ranking.prior[p.index.symbols.index("truncate_pair")]) == 1.0


def test_an_example_does_not_outrank_the_code_it_calls(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "examples").mkdir()
    (tmp_path / "src" / "ports.py").write_text(
        "def parse_port(text):\n    port = int(text)\n    if not 0 < port < 65536:\n"
        "        raise ValueError(f'{port} is not in 1..=65535')\n    return port\n")
    (tmp_path / "examples" / "serve.py").write_text(
        "from ports import parse_port\n\n\ndef main(argv):\n"
        "    port = parse_port(argv[1])  # a port in 1..=65535, parse_port checks it\n"
        "    print('serving on port', port, 'port', port)\n")
    p = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    ranking = rank(p.index, "what port numbers are accepted, and what if the port is out of range?",
                   None, Weights())
    best = p.index.chunk(int(ranking.order()[0]))
    assert best.path == "src/ports.py"
    assert float(ranking.prior[p.index.symbols.index("main")]) == Weights().other_prior


@pytest.mark.parametrize(("path", "text", "declared"), [
    ("util.h", "class XMLUtil {\npublic:\n    // true, True, TRUE or a non-zero number\n"
               "    static bool ToBool(const char* str, bool* value);\n"
               "    const char* Name() const;\n};\n", {"ToBool", "Name"}),
    ("jv.h", "/* parse a whole text */\nint jv_parse(const char* text);\n"
             "char *jv_dump(int v);\n", {"jv_parse", "jv_dump"}),
    ("Connection.java", "interface Connection {\n    /** Largest body read, in bytes. */\n"
                        "    Connection maxBodySize(int bytes);\n}\n", {"maxBodySize"}),
    ("IStore.cs", "interface IStore {\n    /// <summary>Largest message.</summary>\n"
                  "    int MaxMessage(int bytes);\n}\n", {"MaxMessage"}),
    ("parser.rs", "pub trait Parser {\n    /// Reads one value.\n"
                  "    fn parse(&self, s: &str) -> u8;\n}\n", {"parse"}),
    ("store.go", "package p\n\n// Store keeps values.\ntype Store interface {\n"
                 "\tGet(k string) string\n}\n", {"Get"}),
    ("store.ts", "export interface Store {\n  /** Reads one value. */\n"
                 "  get(k: string): string;\n}\n", {"get"}),
    ("Store.php", "<?php\ninterface Store {\n    /** Reads one value. */\n"
                  "    public function fetch($k);\n}\n", {"fetch"}),
])
def test_a_declaration_refers_to_its_definitions(path: str, text: str, declared: set[str]) -> None:
    """A header's prototypes (and an interface's methods) carry the docs; the code that
    answers is their definition elsewhere, which the graph now reaches from them."""
    refs = {r for c in chunks_of(path, text) for r in c.refs}
    assert declared <= refs


def test_a_header_prototype_brings_its_definition_along(tmp_path: Path) -> None:
    (tmp_path / "util.h").write_text(
        "class XMLUtil {\npublic:\n    // which strings read as a boolean: true, True, TRUE\n"
        "    static bool ToBool(const char* str, bool* value);\n};\n")
    (tmp_path / "util.cpp").write_text(
        '#include "util.h"\n\nbool XMLUtil::ToBool(const char* str, bool* value) {\n'
        '    *value = StringEqual(str, "true");\n    return true;\n}\n\n'
        "int Other(int x) {\n    return x + 1;\n}\n")
    index = Packer(tmp_path, Settings(use_cache=False, embedder="none")).index
    ranking = rank(index, "which strings read as a boolean?")
    to_bool = next(r for r, s in enumerate(index.symbols) if s == "XMLUtil.ToBool")
    assert ranking.signals["graph"][to_bool] > 0
    assert ranking.signals["graph"][index.symbols.index("Other")] == 0


_OVERLOADS = "".join(
    "  /** Parse HTML into a Document, resolving relative links against the base URI. */\n"
    f"  public static Document parse(String html{', int n' * k}) {{ return null; }}\n\n"
    for k in range(6))


def _overloaded_project(tmp_path: Path) -> Packer:
    (tmp_path / "Jsoup.java").write_text("class Jsoup {\n" + _OVERLOADS + "}\n")
    (tmp_path / "Cleaner.java").write_text(
        "class Cleaner {\n  /** Relative links stay as written unless they can be resolved. */\n"
        "  boolean keepLink(String href, String root) {\n"
        "    return root.isEmpty() ? href.startsWith(\"/\") : true;\n  }\n}\n")
    (tmp_path / "parse.py").write_text(
        'def parse(html):\n    """Parse HTML, resolving relative links."""\n\n\n'
        'def parse(html, base):\n    """Parse HTML, resolving relative links."""\n')
    return Packer(tmp_path, Settings(use_cache=False, embedder="none"))


def test_overloads_after_the_best_weigh_less(tmp_path: Path) -> None:
    """Six ``parse`` overloads sharing one doc would fill a budget saying one thing: the
    k-th best keeps 1 / (1 + 0.5 k) of its score, so the method that answers outranks the
    second. Python has no overloads: its namesakes keep their scores."""
    index = _overloaded_project(tmp_path).index
    query = "are relative links resolved against the base URI or kept?"
    damped = rank(index, query)
    flat = rank(index, query, weights=Weights(overload=0))
    java = [r for r, s in enumerate(index.symbols)
            if s == "Jsoup.parse" and index.paths[index.chunk_file[r]] == "Jsoup.java"]
    assert len(java) == 6
    ratios = sorted((float(damped.scores[r] / flat.scores[r]) for r in java), reverse=True)
    assert ratios == pytest.approx([1 / (1 + 0.5 * k) for k in range(6)], rel=1e-5)
    py = [r for r in range(index.n_chunks) if index.paths[index.chunk_file[r]] == "parse.py"]
    assert len(py) == 2 and all(damped.scores[r] == flat.scores[r] for r in py)
    keep = index.symbols.index("Cleaner.keepLink")

    def second_overload(ranking):
        return sorted(ranking.order().tolist().index(r) for r in java)[1]

    assert damped.order().tolist().index(keep) < second_overload(damped)
    assert flat.order().tolist().index(keep) > second_overload(flat)


def test_overloads_the_query_names_as_code_are_all_kept(tmp_path: Path) -> None:
    index = _overloaded_project(tmp_path).index
    query = "does `Jsoup.parse` keep relative links when there is no base URI?"
    damped = rank(index, query)
    flat = rank(index, query, weights=Weights(overload=0))
    np.testing.assert_array_equal(damped.scores, flat.scores)


def test_plain_questions_are_told_from_code_questions() -> None:
    assert is_plain("how do I keep unknown keys in an object schema?")
    assert not is_plain("why does `strip()` drop keys?")
    assert not is_plain("ZodObject.passthrough drops keys")
    assert not is_plain("error in src/v3/types.ts")
    # contractions, possessives, plural acronyms and short words like NaN are English
    assert is_plain("why doesn't it keep the user's URLs when a value is NaN?")
    assert not is_plain("why is 'strict' ignored?")
    # a pasted error line, or quoted text that is code, names no identifier yet is not prose
    assert not is_plain("Error: Synchronous parse encountered promise.")
    assert not is_plain('mux: missing name or pattern in "{id:}"')
    assert not is_plain("! Terminating timed out worker (worker failed to check in)")


def test_path_words_count_less_for_a_plain_question(tmp_path: Path) -> None:
    """An English word of a plain question ("change") names the path of an unrelated
    file (ChangeList.java) more often than a word written as code does."""
    (tmp_path / "ChangeList.java").write_text("class ChangeList {\n  int size;\n}\n")
    (tmp_path / "Limits.java").write_text(
        "class Limits {\n  // the largest page body read before it stops\n  int maxBody;\n}\n")
    index = Packer(tmp_path, Settings(use_cache=False, embedder="none")).index
    plain = rank(index, "how big a page does it read before it stops, can I change that?")
    code = rank(index, "how big a page does it read before `maxBody` stops, can I change that?")
    assert plain.weights is not None and code.weights is not None
    assert plain.weights.where == Weights().plain_where < code.weights.where == Weights().where
    best = int(plain.order()[0])
    assert index.paths[int(index.chunk_file[best])] == "Limits.java"


def test_prose_is_not_buried_under_code_for_a_plain_question(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "retries.md").write_text(
        "# Retries\n\nFailed uploads are retried three times, waiting longer each time.\n")
    (tmp_path / "upload.py").write_text(
        "def upload(blob, attempts=3):\n    for _ in range(attempts):\n        send(blob)\n")
    pack = Packer(tmp_path, Settings(use_cache=False, embedder="none")).pack(
        "how many times are failed uploads retried", 400)
    first = max(pack.items, key=lambda i: i.score)
    assert first.chunk.path == "docs/retries.md"


def test_documents_alone_are_ranked_without_a_doc_penalty() -> None:
    docs = [Document("Refunds are paid within five days of the return.", id="refunds.md"),
            Document("def refund(order):\n    return order.total\n", id="refund.py")]
    pack = Packer(docs, Settings(use_cache=False, embedder="none")).pack(
        "when are refunds paid", 200)
    ranked = sorted(pack.items, key=lambda i: -i.score)
    assert ranked[0].chunk.path == "refunds.md"


def test_nothing_vanishes_and_a_pack_with_room_is_never_empty(tmp_path: Path) -> None:
    for k in range(6):
        (tmp_path / f"m{k}.py").write_text(f"def f{k}(x):\n    return x + {k}\n")
    packer = Packer(tmp_path, Settings(use_cache=False, embedder="none"))
    pack = packer.pack("zebra quantum", 110, "json")  # no word of it is in the corpus
    doc = json.loads(pack.text)
    assert doc["items"], "content and room, yet an empty pack"
    assert doc["left_out"], "chunks no signal reached must still be listed"
    assert len(doc["items"]) + len(doc["left_out"]) == 6


def test_a_notebook_is_its_cells_without_outputs() -> None:
    raw = (BREADTH / "analysis.ipynb").read_bytes()
    src = classify_bytes("analysis.ipynb", raw)
    assert isinstance(src, SourceFile) and src.language == "notebook"
    assert "iVBOR" not in src.text and "loaded 12 rows" not in src.text  # outputs dropped
    got = by_symbol(chunk_source(src))
    lines = src.text.split("\n")
    load = got["load_sales"]
    # lines count in the cells' text: the chunk's span is where its text is
    assert "\n".join(lines[load.start_line - 1 : load.end_line]) == load.text
    assert load.kind == "function" and got["rolling_mean"].kind == "function"
    assert got["Seasonal trend"].kind == "section"


def test_a_broken_notebook_is_skipped_with_the_reason() -> None:
    got = classify_bytes("x.ipynb", b'{"cells": [')
    assert isinstance(got, Skipped) and got.reason == "notebook is not valid JSON"


def test_html_is_its_visible_text_by_section() -> None:
    got = by_symbol(chunks_of("page.html", (BREADTH / "page.html").read_bytes()))
    assert set(got) == {"Widget guide", "Widget guide > Installing", "Widget guide > Theming"}
    text = "\n".join(c.text for c in got.values())
    assert "analytics" not in text and "querySelector" not in text  # scripts dropped
    assert "font-family" not in text and "old note" not in text  # styles, comments
    assert "<p>" not in text and "&amp;" not in text
    install = got["Widget guide > Installing"]
    assert install.text == "## Installing\nRun npm install widget. Then import it."
    assert (install.start_line, install.end_line) == (11, 12)  # lines of the HTML file


def _pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica, written by hand (no library)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)


def test_a_pdf_is_its_pages_text() -> None:
    got = classify_bytes("report.pdf", _pdf("Quarterly revenue grew by a tenth"))
    assert isinstance(got, SourceFile)
    assert got.text == "--- page 1 ---\nQuarterly revenue grew by a tenth\n"


def test_a_damaged_pdf_is_read_without_pypdf_warnings(caplog: pytest.LogCaptureFixture) -> None:
    damaged = _pdf("Quarterly revenue").replace(b"startxref\n", b"startxref\n9")
    with caplog.at_level(logging.WARNING):
        got = classify_bytes("report.pdf", damaged)
    assert isinstance(got, SourceFile) and "Quarterly revenue" in got.text
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert logging.getLogger("pypdf").level == logging.NOTSET  # left as it was


def test_without_the_pdf_extra_a_pdf_is_skipped_and_says_how(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pypdf", None)  # as if not installed
    got = classify_bytes("report.pdf", _pdf("hello"))
    assert isinstance(got, Skipped) and got.reason == "PDF: install contextpack[pdf]"
    (tmp_path / "report.pdf").write_bytes(_pdf("hello"))
    (tmp_path / "a.py").write_text("x = 1\n")
    doc = json.loads(Packer(tmp_path, Settings(use_cache=False, embedder="none")).pack(
        "", 200, "json").text)
    assert {"path": "report.pdf", "reason": "PDF: install contextpack[pdf]"} in doc["skipped"]


def test_list_skipped_on_the_command_line() -> None:
    from click.testing import CliRunner

    from contextpack.cli import main

    result = CliRunner().invoke(main, ["build", str(BREADTH / "tspkg"), "--budget", "500",
                                       "--no-cache", "--embedder", "none", "--list-skipped",
                                       "-q"])
    assert result.exit_code == 0, result.output
    assert "skipped dist/: build output (dist/; --include-generated packs it)" in result.stderr
    assert "skipped lib/util.js: compiled twin (of util.ts" in result.stderr


def _split_function(name: str, steps: int, topic_at: int) -> str:
    """A Rust function long enough to be cut into parts; only step ``topic_at`` talks
    about choosing among union members."""
    body = []
    for i in range(steps):
        words = "pick the union member that matches the input best" if i == topic_at \
            else f"step {i} copies buffers and counts bytes"
        body.append(f"    // {words}\n    let value_{i} = state.advance({i}, \"{words}\");\n"
                    f"    if value_{i}.is_err() {{ return value_{i}; }}\n")
    return f"fn {name}(state: &mut State) -> Result<(), Error> {{\n{''.join(body)}    Ok(())\n}}\n"


def test_a_part_of_a_definition_lifts_its_neighbour_parts(tmp_path: Path) -> None:
    """With ``parts=0.8`` (off by default) a function cut into a few parts is read whole:
    a part scores at least 0.8 of its neighbour part's score (0.8 ** d at d parts away).
    A definition cut into many parts (a test's long ``main``) is read by the part that
    matters and lifts nothing."""
    (tmp_path / "union.rs").write_text(_split_function("validate_smart", 20, 16))
    (tmp_path / "long.rs").write_text(_split_function("main_loop", 400, 200))
    (tmp_path / "other.rs").write_text(
        "fn checksum(data: &[u8]) -> u32 {\n    // counts bytes of the buffer\n"
        "    data.iter().map(|b| *b as u32).sum()\n}\n")
    index = Packer(tmp_path, Settings(use_cache=False, embedder="none")).index
    query = "how does it pick which union member matches my input?"
    lifted = rank(index, query, weights=Weights(parts=0.8))
    flat = rank(index, query)

    def parts(path: str) -> list[int]:
        return [r for r in range(index.n_chunks) if index.paths[index.chunk_file[r]] == path]

    smart = parts("union.rs")
    assert 2 <= len(smart) <= 4 and index.part[smart[-1]][1] == len(smart)
    best = max(smart, key=lambda r: flat.scores[r])
    for r in smart:
        floor = 0.8 ** abs(r - best) * flat.scores[best]
        assert lifted.scores[r] == pytest.approx(max(flat.scores[r], floor), rel=1e-5)
    assert any(lifted.scores[r] > flat.scores[r] * 1.2 for r in smart)  # a lift happened
    assert lifted.contributions(min(smart, key=lambda r: flat.scores[r]))["part floor"] > 0
    long = parts("long.rs")
    assert len(long) > 4
    np.testing.assert_array_equal(lifted.scores[long], flat.scores[long])


def test_a_typedef_struct_has_a_skeleton_and_its_parts_a_short_context() -> None:
    """C's ``typedef struct {...} name;`` and Go's ``type X struct {...}`` have their member
    list inside: the skeleton stops at the brace, and a later part carries the type's
    header as context, not the whole type again (a 300-token part of libyaml's emitter
    struct cost 1,700 tokens with it)."""
    fields = "".join(f"    /** field {i}: what it holds */\n    int field_{i};\n"
                     for i in range(300))
    c = chunks_of("thing.h", "/** A thing. */\ntypedef struct thing_s {\n" + fields
                  + "} thing_t;\n")
    go = chunks_of("thing.go", "package thing\n\n// Thing is.\ntype Thing struct {\n"
                   + "".join(f"\t// F{i} holds a value\n\tF{i} int\n" for i in range(300))
                   + "}\n")
    anonymous = chunks_of("point.h", "typedef struct {\n  int x;\n  int y;\n} point_t;\n")
    assert anonymous[0].skeleton == "typedef struct { ... } point_t;"  # the name comes last
    for chunks, head in ((c, "typedef struct thing_s {"), (go, "type Thing struct {")):
        typed = [ch for ch in chunks if ch.kind == "type"]
        assert len(typed) > 2 and typed[0].part == 1
        assert typed[0].skeleton.splitlines()[-1].startswith(head)
        assert len(typed[0].skeleton) < 80
        assert all(len(ch.context) < 40 and head.split()[0] in ch.context for ch in typed[1:])
