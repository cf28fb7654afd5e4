"""Language detection and parse recovery: C++ in ``.h`` headers, and files where one
statement the grammar does not know would turn the whole file into line windows."""

from __future__ import annotations

from contextpack.chunk import chunk_source, language_for_path
from contextpack.chunk.code import _mostly_errors, _parser, _without_macros
from contextpack.types import SourceFile, digest

CPP_HEADER = """\
#ifndef WIDGET_H
#define WIDGET_H
#include <string>

namespace ui {

/// A thing on the screen.
class Widget : public Base
{
public:
    explicit Widget(const std::string& name) : name_(name) {}
    int Width() const { return width_; }

private:
    std::string name_;
    int width_ = 0;
};

}  // namespace ui
#endif
"""

C_HEADER = """\
#ifndef POINT_H
#define POINT_H
/* Not C++: a comment saying class Foo : public Bar and std::string */
typedef struct point { int x; int y; } point_t;
static const char *sep = "a::b";
int point_add(point_t a, point_t b);
#endif
"""


def _src(path: str, text: str, language: str) -> SourceFile:
    return SourceFile(path, text, language, digest(text), len(text))


def test_header_holding_cpp_is_parsed_as_cpp() -> None:
    assert language_for_path("include/ui/widget.h", CPP_HEADER) == "cpp"
    chunks = chunk_source(_src("widget.h", CPP_HEADER, "cpp"))
    found = {(c.symbol, c.kind) for c in chunks}
    assert ("ui.Widget", "class") in found or ("Widget", "class") in found, found
    assert any(s.endswith("Widget.Width") and k == "method" for s, k in found), found


def test_plain_c_header_stays_c() -> None:
    # C++ words inside comments and string literals do not count
    assert language_for_path("point.h", C_HEADER) == "c"
    assert language_for_path("point.c", CPP_HEADER) == "c"  # only .h is judged by content
    assert language_for_path("point.h") == "c"


STAMP_CS = """\
using System;

namespace Demo
{
\tpublic struct Stamp
\t{
\t\tint d;

\t\tpublic uint Unix
\t\t{
\t\t\tget {
\t\t\t\tuint t = 0;
\t\t\t\tfixed (int* ip = &d) {
\t\t\t\t\tt = *(uint*)ip;
\t\t\t\t}
\t\t\t\treturn t;
\t\t\t} set {
\t\t\t\tfixed (int* ip = &d) {
\t\t\t\t\t*(uint*)ip = value;
\t\t\t\t}
\t\t\t}
\t\t}
\t}

\tpublic class Clock
\t{
\t\tpublic static Stamp Now()
\t\t{
\t\t\treturn new Stamp();
\t\t}
\t}
}
"""


def test_one_unknown_statement_does_not_lose_the_file_structure() -> None:
    # the grammar reads `*(uint*)ip = value;` as an error that swallows the namespace
    root = _parser("csharp").parse(STAMP_CS.encode()).root_node
    assert _mostly_errors(root, len(STAMP_CS))
    chunks = chunk_source(_src("Stamp.cs", STAMP_CS, "csharp"))
    found = {(c.symbol, c.kind) for c in chunks}
    assert ("Clock.Now", "method") in found, found
    assert ("Stamp.Unix", "method") in found, found
    assert not any(c.kind == "lines" for c in chunks)
    lines = STAMP_CS.split("\n")
    for c in chunks:  # the text is the file's own, blanked lines included
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
    unix = next(c for c in chunks if c.symbol == "Stamp.Unix")
    assert "*(uint*)ip = value;" in unix.text


def _long_java_method(steps: int) -> str:
    body = "\n".join(
        f"        if (status == {i}) {{\n            log(\"step {i} of the request\");\n"
        f"            retries += {i};\n        }}" for i in range(steps))
    return (f"public class Client {{\n    /** Runs the request. */\n"
            f"    public Response execute(Request req) throws IOException {{\n"
            f"        int retries = 0;\n{body}\n        return new Response(retries);\n"
            f"    }}\n}}\n")


def test_long_method_is_cut_into_parts_that_carry_its_signature() -> None:
    text = _long_java_method(40)  # 160 lines of body
    chunks = chunk_source(_src("Client.java", text, "java"))
    parts = [c for c in chunks if c.symbol == "Client.execute"]
    assert len(parts) >= 3
    assert [c.part for c in parts] == list(range(1, len(parts) + 1))
    assert all(len(c.text) <= 1800 for c in parts)
    assert parts[0].text.lstrip().startswith("/** Runs the request. */")
    signature = "    public Response execute(Request req) throws IOException {"
    assert signature not in parts[0].context
    for c in parts[1:]:
        assert c.context.split("\n") == ["public class Client {", signature]
    covered = {n for c in parts for n in range(c.start_line, c.end_line + 1)}
    assert covered >= set(range(parts[0].start_line, parts[-1].end_line + 1)) - {
        n for n in range(1, text.count("\n") + 1) if not text.split("\n")[n - 1].strip()}


def test_a_later_part_shows_a_short_signature_without_the_decorators() -> None:
    """A click command: forty option decorators, a parameter per option and a long body.
    Each later part repeated all of it as context, thousands of tokens a part."""
    options = "".join(f"@click.option('--flag-{i}', default={i}, help='Flag {i}')\n"
                      for i in range(40))
    params = "".join(f"    flag_{i}: int,\n" for i in range(40))
    body = "\n".join(f"    if flag_{i} > {i}:\n        total += flag_{i} * {i}" for i in range(120))
    text = (f"import click\n\n\n@click.command()\n{options}def serve(\n{params}) -> int:\n"
            f"    total = 0\n{body}\n    return total\n")
    parts = [c for c in chunk_source(_src("cli.py", text, "python")) if c.symbol == "serve"]
    assert len(parts) >= 3
    assert parts[0].text.startswith("@click.command()")
    for c in parts[1:]:
        assert c.context.split("\n") == ["def serve(", "    ...", ") -> int:"]


def test_a_later_part_keeps_a_signature_that_starts_above_its_name() -> None:
    """GNU-style C puts the return type on the line above the name; a Java annotation
    may share the signature's line. Neither is a decoration to leave out."""
    body = "\n".join(f"  if (p->n == {i})\n    p->total += {i};" for i in range(60))
    c_text = (f"static int\nparse_thing (struct thing *p,\n             int flags)\n{{\n"
              f"  int total = 0;\n{body}\n  return total;\n}}\n")
    parts = [c for c in chunk_source(_src("thing.c", c_text, "c")) if c.symbol == "parse_thing"]
    assert len(parts) >= 2
    assert parts[1].context == "static int\nparse_thing (struct thing *p,\n             int flags)"
    lines = "\n".join(f"    if (a == {i}) a += {i};" for i in range(80))
    for head, want in (("  @Override\n  @Deprecated\n  public int run(int a) {",
                        "  public int run(int a) {"),
                       ("  @Override public int run(int a) {", "  @Override public int run(int a) {")):
        java = f"class A {{\n{head}\n{lines}\n    return a;\n  }}\n}}\n"
        parts = [c for c in chunk_source(_src("A.java", java, "java")) if c.symbol == "A.run"]
        assert len(parts) >= 2
        assert parts[1].context == f"class A {{\n{want}"


def test_python_functions_stay_whole_up_to_the_chunk_limit() -> None:
    body = "\n".join(f"    if status == {i}:\n        retries += {i}" for i in range(40))
    text = f"def execute(req):\n    retries = 0\n{body}\n    return retries\n"
    assert 1600 < len(text) < 4000
    chunks = chunk_source(_src("client.py", text, "python"))
    assert [(c.symbol, c.part) for c in chunks] == [("execute", 0)]


EXPORTED_CPP = """\
#include <string>
namespace spdlog {
class SPDLOG_API logger;

class SPDLOG_API logger final : public base
{
public:
    explicit logger(std::string name);
    void flush() { sink_->flush(); }
};

SPDLOG_INLINE const std::string &logger::name() const
{
    return name_;
}

SPDLOG_INLINE logger &logger::operator=(logger other) SPDLOG_NOEXCEPT
{
    this->swap(other);
    return *this;
}
}  // namespace spdlog
"""


def test_cpp_export_and_inline_macros_do_not_hide_classes_and_functions() -> None:
    chunks = chunk_source(_src("logger.h", EXPORTED_CPP, "cpp"))
    found = {(c.symbol, c.kind, c.start_line) for c in chunks}
    assert ("logger", "class", 5) in found, found  # not a function named `logger`
    assert ("logger.flush", "method", 9) in found, found
    assert ("logger.name", "method", 12) in found, found  # not `std::string`
    assert ("logger.operator=", "method", 17) in found, found
    assert not any(c.start_line == 3 for c in chunks if c.kind == "class")  # a declaration
    lines = EXPORTED_CPP.split("\n")
    for c in chunks:  # the macros are blanked for the parser only
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
    assert "SPDLOG_INLINE const std::string &logger::name() const" in \
        next(c.text for c in chunks if c.symbol == "logger.name")


def test_cpp_method_defined_outside_its_class_is_named_as_a_method() -> None:
    text = ("namespace ui {\nint Widget::Width() const\n{\n    return width_;\n}\n"
            "template <typename T>\nvoid Pool<T>::Grow()\n{\n    size_ *= 2;\n}\n}\n")
    chunks = {c.symbol: c for c in chunk_source(_src("widget.cpp", text, "cpp"))}
    width = chunks["Widget.Width"]
    assert (width.kind, width.parent, width.defs) == ("method", "Widget", ("Width",))
    grow = chunks["Pool.Grow"]
    assert (grow.kind, grow.parent, grow.defs) == ("method", "Pool", ("Grow",))


def test_access_labels_alone_are_no_chunk() -> None:
    text = ("class Pool\n{\npublic:\n    int Size() const {\n        return size_;\n    }\n"
            "private:\n    void Grow() {\n        size_ *= 2;\n    }\n};\n")
    chunks = chunk_source(_src("pool.h", text, "cpp"))
    assert [c.text.strip() for c in chunks if c.kind == "class"] == ["class Pool\n{\npublic:"]
    assert {c.symbol for c in chunks if c.kind == "method"} == {"Pool.Size", "Pool.Grow"}


def test_javadoc_without_leading_stars_belongs_to_its_method() -> None:
    text = ("public class Jsoup {\n    /**\n     Parse HTML into a Document.\n\n"
            "     @param html HTML to parse\n     */\n"
            "    public static Document parse(String html) {\n"
            "        return Parser.parse(html);\n    }\n}\n")
    chunks = chunk_source(_src("Jsoup.java", text, "java"))
    parse = next(c for c in chunks if c.symbol == "Jsoup.parse")
    assert parse.start_line == 2  # from `/**`, blank line inside the comment included
    assert "Parse HTML into a Document." in parse.text
    assert [c.kind for c in chunks] == ["class", "method"]


def test_a_rust_module_declaration_defines_nothing() -> None:
    """``mod types;`` says where a module's file is; read as a class named ``types`` it
    matched every question saying "types" as if it named the code."""
    text = "mod types;\npub mod input;\nuse std::fmt;\n\nmod inner {\n    pub fn f() {}\n}\n"
    chunks = chunk_source(_src("lib.rs", text, "rust"))
    assert {c.symbol for c in chunks if c.kind == "class"} == {"inner"}
    assert not {"types", "input"} & {d for c in chunks for d in c.defs}
    assert any("mod types;" in c.text and c.kind == "module" for c in chunks)


def test_a_comment_inside_a_continued_define_stays_inside_the_define() -> None:
    """tree-sitter's C grammar ends a ``#define`` at a block comment before a line's
    backslash and parses the macro's rest as code. In libyaml's scanner.c the error that
    began there ran 208 lines and hid ``yaml_parser_scan``; the comment is now blanked for
    the parser (the chunk text keeps it)."""
    text = (
        "#define READ_LINE(p, s)                                  \\\n"
        "    (CHECK_AT(p, 0) ?                      /* CR LF */   \\\n"
        "     (*((s).pointer++) = *((p)->pointer++),              \\\n"
        "      (p)->unread --,                                    \\\n"
        "      1) : 0)\n\n"
        "int scan_token(struct parser *p, struct token *t)\n{\n"
        "    if (!p->ready) {\n        return 0;\n    }\n    return READ_LINE(p, t->s);\n}\n")
    for path, language in (("scanner.c", "c"), ("scanner.cpp", "cpp")):
        root = _parser(language).parse(_without_macros(text.encode(), language)).root_node
        assert not root.has_error, language
        assert [c.type for c in root.children] == ["preproc_function_def", "function_definition"]
        chunks = chunk_source(_src(path, text, language))
        assert [c.symbol for c in chunks if c.kind == "function"] == ["scan_token"]
        assert "/* CR LF */" in chunks[0].text  # the text itself is kept
