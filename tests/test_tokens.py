"""Token counting: offline cl100k, clear failures, and a model's own tokenizer.json."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from contextpack.embed import minilm_path
from contextpack.errors import TokenizerError
from contextpack.tokens import get_tokenizer


def test_cl100k_is_served_offline_with_the_real_ranks() -> None:
    enc = get_tokenizer("cl100k_base")
    assert enc.name == "cl100k_base"
    assert enc.encode("hello world") == [15339, 1917]
    assert enc.count_many(["hello world"] * 100) == [2] * 100
    assert get_tokenizer("gpt-4").name == "cl100k_base"


@pytest.mark.parametrize("name", ["nope", "r50k_base"])
def test_unavailable_encodings_fail_fast_with_a_message(name: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    t0 = time.monotonic()
    with pytest.raises(TokenizerError, match=repr(name)):
        get_tokenizer(name)
    assert time.monotonic() - t0 < 5


def test_hugging_face_tokenizer_file() -> None:
    tok = get_tokenizer(tokenizer_file=str(minilm_path() / "tokenizer.json"))
    assert tok.name.startswith("hf:")
    assert tok.count("hello world") == 2
    assert tok.count_many(["hello world", "a"]) == [2, 1]


def test_missing_tokenizer_file(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="does not exist"):
        get_tokenizer(tokenizer_file=str(tmp_path / "tokenizer.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TokenizerError, match="cannot load tokenizer file"):
        get_tokenizer(tokenizer_file=str(bad))


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_native_counts_equal_tiktoken_counts(encoding: str) -> None:
    """An index build counts with bpe-openai's Rust counter: every count must be
    tiktoken's, or a budget could be overrun."""
    import random
    import subprocess
    import sys

    from contextpack.tokens import NATIVE_MIN_CHARS, get_tokenizer, native_counter

    native = native_counter(encoding)
    assert native is not None
    tok = get_tokenizer(encoding)
    pieces = [*" \t\n\r\x0b\x0c\u00a0\u3000", *"abcXYZ019_-.,;:'\"!?()[]{}<>/\\|@#$%^&*+=~`",
              "é", "ß", "Σ", "ς", "日本語", "😀", "👍🏽", "\u0301", "\u200b", "\ufeff",
              "<|endoftext|>", "<|endofprompt|>", "'s", "'LL", "’", "ﬁ", "١٢", "ⅷ",
              "    def f(self):\n", "\r\n\r\n", "0123456789"]
    rnd = random.Random(7)
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 60)))
             for _ in range(3000)]
    assert [int(native.count(t)) for t in texts] == [tok.count(t) for t in texts]
    # count_many takes the native path for many characters, a lone surrogate included
    many = [*texts, "a\udcffb"] * (NATIVE_MIN_CHARS // sum(map(len, texts)) + 1)
    assert tok.count_many(many) == [tok.count(t) for t in many]
    # the package, imported afterwards, reuses the module loaded on its own
    code = ("from contextpack.tokens import native_counter; native_counter('cl100k_base');"
            "import bpe_openai; print(bpe_openai.get_encoding('cl100k_base')"
            ".encode_ordinary('hello world'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[15339, 1917]", out.stderr
