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
