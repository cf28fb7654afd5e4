"""Invariants over random input: chunkers never raise and cover their file, redaction
keeps every line, and any budget is either honoured or refused with a clear error."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextpack.analyze import analyze
from contextpack.api import Packer, Settings
from contextpack.chunk import CODE_SPECS, chunk_source
from contextpack.chunk.text import CLOSERS
from contextpack.errors import BudgetError
from contextpack.redact import redact
from contextpack.tokens import get_tokenizer
from contextpack.types import SourceFile, digest

EXTENSIONS = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go",
              "rust": "rs", "java": "java", "c": "c", "cpp": "cpp", "csharp": "cs", "ruby": "rb",
              "php": "php", "markdown": "md", "rst": "rst", "text": "txt", "other": "cfg"}
LANGUAGES = sorted(CODE_SPECS) + ["markdown", "rst", "text", "other"]

# Pieces that stress parsers: unbalanced brackets, half-open strings and comments,
# keywords of every language, markup titles and fences, and unicode.
TOKENS = [
    "(", ")", "{", "}", "[", "]", "<", ">", "\n", "\n", "\n", " ", "    ", "\t", ";", ",", ":",
    '"', "'", "`", '"""', "/*", "*/", "//", "#", "--", "\\", "=", "=>", "->",
    "def f(x):", "class A:", "class B {", "fn main() {", "func (r *T) M() {", "function g() {",
    "public static void m() {", "impl T {", "module M", "end", "end;", "begin", "<?php", "?>",
    "struct S {", "interface I {", "namespace N {", "return 1", "if x {", "} else {", "pass",
    "@decorator", "export default", "const x = () => {", "template<typename T>", "#define X",
    "```", "```python", "# Title", "## Sub", "=====", "-----", ".. code-block::", "* item",
    "x = 1", "y", "42", "é", "日本", "🙂", "\u200b", "\ufeff", "\ufffd", "password = 'abc123xyz'",
]
code_like = st.lists(st.sampled_from(TOKENS), max_size=300).map("".join)
random_text = st.text(max_size=2000).map(lambda t: t.replace("\x00", "\ufffd"))
any_text = st.one_of(code_like, random_text, st.just(""), st.just("(" * 3000 + ")" * 3000))


def source(language: str, text: str) -> SourceFile:
    path = f"sample.{EXTENSIONS[language]}"
    size = len(text.encode("utf-8", "surrogatepass"))
    return SourceFile(path, text, language, digest(text), size)


def holds_content(line: str) -> bool:
    stripped = line.strip()
    return stripped not in CLOSERS and any(ch.isalnum() for ch in stripped)


@pytest.mark.parametrize("language", LANGUAGES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text)
def test_chunks_are_exact_spans_that_cover_every_line_with_content(language: str,
                                                                   text: str) -> None:
    src = source(language, text)
    chunks = chunk_source(src, max_chars=400)
    lines = text.split("\n")
    previous_end = 0
    covered: set[int] = set()
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines), (c.start_line, c.end_line)
        assert c.start_line > previous_end, "chunks must be in order and must not overlap"
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
        previous_end = c.end_line
        covered.update(range(c.start_line, c.end_line + 1))
    missing = [n for n, line in enumerate(lines, 1) if holds_content(line) and n not in covered]
    assert not missing, f"lines {missing[:5]} are in no chunk"


@settings(max_examples=150, deadline=None)
@given(text=any_text, path=st.sampled_from(["a.py", ".env", "c.yaml", "d.json", "e.md", "f"]))
def test_redaction_never_raises_and_keeps_every_line(text: str, path: str) -> None:
    out, found = redact(text, path)
    assert out.count("\n") == text.count("\n")
    assert all(1 <= r.line <= text.count("\n") + 1 for r in found)
    if not found:
        assert out == text


PLANTED = ['token = "ghp_FAKE0EXAMPLE0TOKEN0123456789abcdefgh"',
           'DB_PASSWORD = "FAKE-Planted-0123"', "aws = 'AKIAIOSFODNN7EXAMPLE'"]


@settings(max_examples=150, deadline=None)
@given(before=any_text, after=any_text, secret=st.sampled_from(PLANTED))
def test_a_planted_secret_is_found_on_its_line_whatever_surrounds_it(before: str, after: str,
                                                                     secret: str) -> None:
    text = f"{before}\n{secret}\n{after}"
    out, found = redact(text, "mod.py")
    line = before.count("\n") + 2
    assert "FAKE" not in out.split("\n")[line - 1] and "AKIA" not in out.split("\n")[line - 1]
    assert line in {r.line for r in found}


@settings(max_examples=60, deadline=None)
@given(text=any_text)
def test_analysis_of_any_python_never_raises(text: str) -> None:
    a = analyze(source("python", text))
    assert len(a.terms) == len(a.chunks)


@pytest.fixture(scope="module")
def secrets_packer(tmp_path_factory: pytest.TempPathFactory) -> Packer:
    import shutil

    from .conftest import FIXTURES

    root = tmp_path_factory.mktemp("props") / "secrets"
    shutil.copytree(FIXTURES / "secrets", root)
    return Packer(root, Settings(use_cache=False, embedder="none"))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=-50, max_value=2500),
       query=st.sampled_from(["", "database password", "ChatNotifier.notify", "signing key"]),
       fmt=st.sampled_from(["markdown", "xml", "json"]))
def test_any_budget_is_honoured_or_refused(secrets_packer: Packer, budget: int, query: str,
                                           fmt: str) -> None:
    """Extends test_pack's property down to tiny, zero and negative budgets."""
    try:
        p = secrets_packer.pack(query, budget, fmt)
    except BudgetError as exc:
        assert budget <= 0 or "smaller than the header" in str(exc)
        return
    context = json.loads(p.text)["context"] if fmt == "json" else p.text
    assert get_tokenizer().count(context) == p.tokens <= budget
    assert "FAKE" not in context  # every FAKE in fixtures/secrets is part of a secret
