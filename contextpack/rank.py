"""Query -> a relevance score for every chunk, from several signals fused by a weighted sum.

Signals (each scaled to [0, 1] before weighing, see ``_scaled``):

* ``bm25``   BM25 of the chunk over identifier-aware terms;
* ``message`` text of the chunk's string literals found in the query: a pasted error
             (``Cannot index number with string "foo"``) is the printed form of a
             message the code builds from a template (``"Cannot index %s with string"``);
* ``file``   BM25 of the chunk's whole file (a function in the right file matters more);
* ``title``  BM25 of the chunk against the query's first line, when the query has more
             lines: an issue's title (or a question's summary) says what it is about,
             while its body adds detail, user code and noise;
* ``dense``  cosine similarity of the chunk's and the query's embeddings (exact k-NN, faiss);
* ``name``   definitions the query names exactly (``bulk_create``, ``QuerySet.delete``);
* ``path``   files the query names (a path, a dotted module, a stack-trace frame);
* ``where``  words of the query's title (the whole query if it is one line) in a file's
             path (``urls``, ``resolvers``), weighed by how few paths hold them: prose
             names the module it is about, and a long body names many;
* ``filemax`` the best fused score of any chunk in the same file: once a file is clearly
             about the query, its other chunks are likelier than strangers' (the fix is
             often next to the code the issue describes);
* ``graph``  personalized PageRank from the best chunks over the reference graph, so the
             callers, callees and types around a hit rise with it.

With no query the ranking is structural: global PageRank over the graph, favouring code
that much else refers to.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace

import numpy as np

from . import graph as graph_mod
from .chunk.languages import DOC_LANGUAGES, is_test_path
from .embed import Embedder
from .index import Index
from .index.engine import embeds
from .lexical import BM25, query_terms, singular, weigh_query


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts; fitted on the benchmark's dev set (bench/README.md)."""

    bm25: float = 1.0
    # Half of BM25's: issues paste whole program outputs (a version report, a log), and
    # the code printing those is rarely what they are about.
    message: float = 0.5
    file: float = 0.6
    title: float = 1.5
    dense: float = 0.5
    name: float = 1.0
    path: float = 0.8
    where: float = 0.5
    filemax: float = 0.5
    graph: float = 0.3
    parent: float = 0.0  # chunks whose class (or file stem) the query names
    seeds: int = 20  # chunks that seed the graph walk
    # multipliers by file role (ROLES): tests, docs and other text against code
    test_prior: float = 0.3
    doc_prior: float = 0.5
    other_prior: float = 0.5
    # How far the doc and other priors move toward 1 for a plain question (one that
    # names no identifier, path or stack frame). Measured on the breadth benchmark, 0.5
    # cost plain questions over code bases their answers (README and manual sections
    # outranked the code that does it, on the tuning and the held-out half alike), so 0.
    # Where the corpus is mostly prose they move anyway (see ``_prose_relax``).
    plain_relax: float = 0.0
    # Share of a named short function's name score that what it calls gets (a wrapper
    # such as cJSON_GetObjectItem does its work in get_object_item); 0 turns it off.
    wrapper: float = 0.6
    # ``where`` for a plain question: its words are English ("change", "message", "limit")
    # and match the path words of files named after other things (ChangeNotifyingList).
    plain_where: float = 0.2
    # What ``dense`` is multiplied by for a plain question: its words are rarely the
    # code's own, so the embedding counts for more. Measured with the code-weighted static
    # table (minilm-static-v2) on the breadth benchmark's dev questions: 0.5 x 1.5.
    plain_dense: float = 1.5
    # Overloads (Java, C# or C++ methods of one name in one file) share their words and
    # docs, so a dozen ``parse`` variants would fill the budget saying one thing: the k-th
    # best of a name scores 1 / (1 + overload * k) of its own. 0 turns it off.
    overload: float = 0.5
    # A function a little too long for one chunk is cut into parts, but it is read whole:
    # each part of a definition cut into at most ``PARTS_READ_WHOLE`` scores at least this
    # share of its neighbour part's score (share ** d of a part d away). 0, off: at 0.8 it
    # won the breadth dev split two questions (a Rust function's other half) and lost one
    # held-out question, half a tuning one and one SWE-bench pack at 32k (the parts it
    # lifted crowded out the answer), so it stays a knob (--weight parts=0.8).
    parts: float = 0.0

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> Weights:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            from .errors import ConfigError

            raise ConfigError(f"unknown ranking weights: {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(sorted(known))}", sorted(unknown))
        out = {}
        for k, v in values.items():
            kind = type(getattr(cls(), k))
            try:
                number = kind(v)
                finite = math.isfinite(float(number))
            except (TypeError, ValueError, OverflowError):
                finite = False
            if isinstance(v, bool) or not finite:
                from .errors import ConfigError

                raise ConfigError(f"ranking weight {k} must be a finite number, not {v!r}", v)
            out[k] = number
        return cls(**out)


#: What a file is for: ranking weighs tests, docs and other text apart from code.
ROLES = ("code", "test", "doc", "other")
#: Folders of code that uses the project rather than makes it: weighed as "other".
_USAGE_DIRS = frozenset({"example", "examples", "demo", "demos", "sample", "samples",
                         "bench", "benches", "benchmark", "benchmarks"})


_CHANGELOG_STEMS = ("changelog", "changes", "history", "news", "release_notes",
                    "release-notes", "releasenotes", "releases", "whatsnew", "whats_new")
_CHANGELOG_DIRS = frozenset({"changelog", "changelogs", "changelog.d", "changes", "releases",
                             "release-notes", "release_notes", "newsfragments", "whatsnew"})


#: Declaration files: signatures and their docs for code whose body is elsewhere (a
#: ``.pyi`` beside its ``.py`` or over a Rust or C extension, a hand-written ``index.d.ts``).
STUB_SUFFIXES = (".pyi", ".d.ts", ".d.mts", ".d.cts")
#: Patches (``debian/patches/``): the code they change, again, with + and - in front.
_PATCH_SUFFIXES = (".patch", ".diff")


def file_role(path: str, language: str) -> int:
    """0 code, 1 test (and changelogs and patches), 2 doc (and declaration files), 3 other
    (config, data, templates, and the code of examples and benchmarks: it shows the
    project used, not how it works)."""
    if is_test_path(path):
        return 1
    parts = path.lower().split("/")
    if is_changelog(parts, language) or parts[-1].endswith(_PATCH_SUFFIXES):
        # a release note names every feature once, and a patch (debian/patches/) repeats
        # the code it changes: weighed down like tests
        return 1
    if language in DOC_LANGUAGES or parts[-1].endswith(STUB_SUFFIXES):
        return 2  # a stub documents an API: how it works is in the code it declares
    if language == "other" or any(p in _USAGE_DIRS for p in parts[:-1]):
        return 3
    return 0


def is_changelog(parts: list[str], language: str) -> bool:
    """CHANGELOG.md, HISTORY.rst, NEWS, History.md, docs/releases/1.2.txt and the like."""
    if language not in DOC_LANGUAGES and language != "other":
        return False
    stem = parts[-1].split(".", 1)[0]
    if stem in _CHANGELOG_STEMS or stem.startswith(tuple(s + c for s in _CHANGELOG_STEMS
                                                         for c in "-_")):
        return True
    return language != "other" and any(p in _CHANGELOG_DIRS for p in parts[:-1])


def file_roles(index: Index) -> np.ndarray:
    """Each file's role (an index of ROLES), computed once per index and kept on it."""
    roles = index.__dict__.get("_roles")
    if roles is None or len(roles) != index.n_files:
        roles = np.fromiter((file_role(p, lang) for p, lang in
                             zip(index.paths, index.languages, strict=True)),
                            np.int8, count=index.n_files)
        index.__dict__["_roles"] = roles  # "_" attributes are query-time caches, never stored
    return roles


#: Rust keeps unit tests in the file they test, in a module named by convention
#: (``#[cfg(test)] mod tests``): its functions are tests, whatever the file's role.
_INLINE_TEST_MODULES = frozenset({"tests", "test"})


def chunk_roles(index: Index) -> np.ndarray:
    """Each chunk's role: its file's, or a test's for a Rust test module in a code file."""
    roles = index.__dict__.get("_chunk_roles")
    if roles is None or len(roles) != index.n_chunks:
        roles = file_roles(index)[index.chunk_file]
        rust = np.fromiter((lang == "rust" for lang in index.languages), bool,
                           count=index.n_files)[index.chunk_file]
        for r in np.flatnonzero(rust & (roles == 0)).tolist():
            if _INLINE_TEST_MODULES.intersection(index.symbols[r].split(".")):
                roles[r] = 1
        index.__dict__["_chunk_roles"] = roles
    return roles


SIGNALS = ("bm25", "message", "file", "title", "dense", "name", "path", "where", "parent",
           "filemax", "graph")


@dataclass
class Ranking:
    """Scores of every chunk of an index, with the signals behind them."""

    scores: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    mode: str = "query"  # or "structure" when there was no query
    named_symbols: list[str] = field(default_factory=list)
    named_files: list[str] = field(default_factory=list)
    weights: Weights | None = None
    prior: np.ndarray | None = None  # the file-role multiplier of each chunk, if any
    overload: np.ndarray | None = None  # the overload multiplier of each chunk, if any
    # the score a part took from a neighbour part of its definition (0: its own stood)
    part_floor: np.ndarray | None = None

    def contributions(self, row: int) -> dict[str, float]:
        """What each signal added to a chunk's score (weight x scaled signal), best first;
        ``prior`` (file role) and ``overload`` are the multipliers applied last, and
        ``part floor`` the score a part took from a neighbour part of its definition."""
        w = self.weights or Weights()
        out = {name: float(getattr(w, name, 1.0) * values[row])
               for name, values in self.signals.items() if values[row] > 0}
        out = {k: round(v, 4) for k, v in sorted(out.items(), key=lambda kv: -kv[1]) if v > 0}
        for name, factor in (("prior", self.prior), ("overload", self.overload)):
            if factor is not None and factor[row] != 1.0:
                out[name] = round(float(factor[row]), 4)
        if self.part_floor is not None and self.part_floor[row] > 0:
            out["part floor"] = round(float(self.part_floor[row]), 4)
        return out

    def keep_only(self, rows: np.ndarray) -> Ranking:
        """A copy in which only the chunks marked in ``rows`` (a boolean mask) may be
        packed: the others score -1, below any real score, and packing stops there."""
        scores = np.where(rows, self.scores, np.float32(-1.0)).astype(self.scores.dtype)
        return replace(self, scores=scores)

    def order(self) -> np.ndarray:
        """Chunk rows, best first; ties broken by row (path, then line) for determinism."""
        return np.lexsort((np.arange(len(self.scores)), -self.scores))


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
PATHLIKE = re.compile(r"[A-Za-z0-9_.\-/\\]+\.[A-Za-z0-9]{1,8}\b")
FRAME = re.compile(r'File "([^"]+)", line (\d+), in ([A-Za-z_<>][\w<>]*)')


def rank(index: Index, query: str, embedder: Embedder | None = None,
         weights: Weights | None = None) -> Ranking:
    """Score every chunk of ``index`` against ``query``."""
    weights = weights or Weights()
    n = index.n_chunks
    if n == 0:
        return Ranking(np.zeros(0, np.float32))
    if not query.strip():
        return _structural(index)
    plain = is_plain(query)
    if plain:
        weights = replace(weights, where=weights.plain_where,
                          dense=weights.dense * weights.plain_dense)
    signals: dict[str, np.ndarray] = {}
    qterms = weigh_query(query_terms(query), index.vocab)
    assert index.chunk_terms is not None and index.file_terms is not None
    chunk_bm25 = index.chunk_bm25 or BM25(index.chunk_terms)
    file_bm25_model = index.file_bm25 or BM25(index.file_terms)
    signals["bm25"] = _scaled(chunk_bm25.score(qterms))
    file_bm25 = _scaled(file_bm25_model.score(qterms))
    signals["file"] = file_bm25[index.chunk_file]
    title = _title(query)
    if title and weights.title:
        title_terms = weigh_query(query_terms(title), index.vocab)
        if title_terms:
            signals["title"] = _scaled(chunk_bm25.score(title_terms))
    if embedder is not None and index.vectors is not None and weights.dense:
        signals["dense"] = _dense(index, embedder.embed_query(query))
    if weights.message:
        signals["message"] = _messages(index, query, signals["bm25"])
    name_sig, named_symbols, spelled = _named_symbols(index, query, weights.wrapper)
    signals["name"] = name_sig
    path_files, named_files = _named_files(index, query)
    signals["path"] = path_files[index.chunk_file]
    if weights.where:
        signals["where"] = _path_words(index, _query_words(title or query))[index.chunk_file]
    if weights.parent:
        signals["parent"] = _named_parents(index, named_symbols, query)
    fused = _fuse(signals, weights)
    if weights.filemax:
        best = np.zeros(index.n_files, np.float32)
        np.maximum.at(best, index.chunk_file, fused)
        signals["filemax"] = _scaled(best)[index.chunk_file]
        fused = fused + weights.filemax * signals["filemax"]
    if weights.graph and index.graph is not None and index.graph.src.size:
        seeds = np.zeros(n, np.float32)
        top = np.argsort(-fused, kind="stable")[: weights.seeds]
        seeds[top] = np.maximum(fused[top], 0)
        signals["graph"] = _scaled(graph_mod.pagerank(index.graph, seeds))
        fused = fused + weights.graph * signals["graph"]
    priors = np.array([1.0, weights.test_prior, weights.doc_prior, weights.other_prior],
                      np.float32)
    # Documents (not tests or changelogs) may answer a plain question, or be the corpus.
    relax = max(_prose_relax(prose_share(index)), weights.plain_relax if plain else 0.0)
    priors[2:] += (1.0 - priors[2:]) * min(max(relax, 0.0), 1.0)
    prior = None
    if (priors != 1.0).any():
        prior = priors[chunk_roles(index)]
        fused = fused * prior
    damp = _overload_damping(index, fused, weights.overload) if weights.overload else None
    if damp is not None:
        damp[spelled] = 1.0  # overloads the query names as code are all asked about
        fused = fused * damp
    part_floor = None
    if weights.parts:
        lifted = _lift_parts(index, fused, weights.parts)
        part_floor = np.where(lifted > fused, lifted, 0.0).astype(np.float32)
        fused = lifted
    fused = _floor_zeros(index, fused)
    return Ranking(fused.astype(np.float32), signals, "query", named_symbols, named_files,
                   weights, prior, damp, part_floor)


def is_plain(query: str) -> bool:
    """A question in words: no identifier written as code, no path, no stack frame, no
    pasted error line (``Error: ...``, ``mux: missing name``) or quoted code."""
    if FRAME.search(query) or any("/" in m.group(0) or "\\" in m.group(0)
                                  for m in PATHLIKE.finditer(query)):
        return False
    if _ERROR_LINE.search(query) or any(_CODE_CHARS.search(m.group(1))
                                        for m in _QUOTED.finditer(query)):
        return False
    return not any(_looks_like_code(m.group(0), query, m.start(), prose=True)
                   for m in IDENT.finditer(query))


# A line as programs print errors: ``Error: ...``, ``jq: error ...``, ``! Terminating ...``.
_ERROR_LINE = re.compile(r"^\s*(?:!\s+\w|[\w.\-]+:\s)", re.MULTILINE)
# Quoted text with characters prose does not quote: a pattern, a template, code.
_QUOTED = re.compile(r"[\"`]([^\"`\n]+)[\"`]")
_CODE_CHARS = re.compile(r"[{}\[\]<>=$%^;|\\]")


def prose_share(index: Index) -> float:
    """The share of the corpus's tokens in documents (Markdown, reST, text): 1.0 for a
    pile of in-memory documents, near 0 for a code base. Kept on the index."""
    cached = index.__dict__.get("_prose_share")
    if cached is not None:
        return float(cached)
    # documents, not the declaration stubs that share their role
    prose = np.fromiter((r == 2 and lang in DOC_LANGUAGES for lang, r in
                         zip(index.languages, file_roles(index), strict=True)),
                        bool, count=index.n_files)[index.chunk_file]
    tokens = np.asarray(index.tok_full, np.float64)
    total = float(tokens.sum())
    share = float(tokens[prose].sum()) / total if total > 0 else 0.0
    index.__dict__["_prose_share"] = share
    return share


#: The prose share above which documents are weighed as the corpus's matter rather than its
#: side notes: the doc prior moves toward 1 as the share goes from here to 1.
PROSE_MAJORITY = 0.5


def _prose_relax(share: float) -> float:
    """How far the doc priors move toward 1 for a corpus with this prose share: none in a
    code base, however many documents it carries (a package shipping its manual in five
    versions is 40% prose, and the relaxed prior let those copies bury the code for
    questions about it), fully for a pile of documents."""
    return min(max((share - PROSE_MAJORITY) / (1.0 - PROSE_MAJORITY), 0.0), 1.0)


#: Chunks no signal reached still get a score this far below the least positive one,
#: ordered by kind and role, so they are listed as left out (nothing vanishes) and fill
#: room nothing better wants: a pack with content and room is never empty.
_FLOOR = 1e-3


def _floor_zeros(index: Index, fused: np.ndarray) -> np.ndarray:
    zero = fused <= 0
    if not zero.any():
        return fused
    positive = fused[~zero]
    top = float(positive.min()) * _FLOOR if positive.size else _FLOOR
    order = _floor_order(index)
    out = fused.copy()
    out[zero] = top * order[zero]
    return out


def _floor_order(index: Index) -> np.ndarray:
    """The order of chunks no signal reached (by kind and role), kept on the index."""
    order = index.__dict__.get("_floor_order")
    if order is None or len(order) != index.n_chunks:
        kinds = np.fromiter((_KIND_PRIOR.get(k, 0.5) for k in index.kinds), np.float32,
                            count=index.n_chunks)
        roles = np.array([1.0, 0.5, 0.8, 0.4], np.float32)[chunk_roles(index)]
        order = index.__dict__["_floor_order"] = kinds * roles
    return order


#: Languages where one name may have several definitions told apart by their parameters.
OVERLOADING = frozenset({"java", "csharp", "cpp"})


def overload_groups(index: Index) -> np.ndarray:
    """Per chunk: a group number shared by the whole definitions (not parts) of one
    name in one file of an overloading language, when there are two or more; -1 else.
    Kept on the index."""
    groups = index.__dict__.get("_overloads")
    if groups is not None and len(groups) == index.n_chunks:
        return groups  # type: ignore[no-any-return]
    groups = np.full(index.n_chunks, -1, np.int64)
    files = np.fromiter((lang in OVERLOADING for lang in index.languages), bool,
                        count=index.n_files)
    seen: dict[tuple[int, str], list[int]] = {}
    kinds, symbols = index.kinds, index.symbols
    for row in np.flatnonzero(files[index.chunk_file] & (index.part[:, 0] == 0)).tolist():
        if kinds[row] in ("function", "method") and symbols[row]:
            seen.setdefault((int(index.chunk_file[row]), symbols[row]), []).append(row)
    number = 0
    for rows in seen.values():
        if len(rows) > 1:
            groups[rows] = number
            number += 1
    index.__dict__["_overloads"] = groups
    return groups


def _overload_damping(index: Index, fused: np.ndarray, rate: float) -> np.ndarray | None:
    """Per chunk: ``1 / (1 + rate * k)`` for the k-th best-scoring overload of a name
    (k from 0), 1 for the rest."""
    groups = overload_groups(index)
    rows = np.flatnonzero(groups >= 0)
    if not rows.size:
        return None
    order = rows[np.lexsort((rows, -fused[rows], groups[rows]))]
    first = np.ones(order.size, bool)
    first[1:] = groups[order[1:]] != groups[order[:-1]]
    starts = np.flatnonzero(first)
    k = np.arange(order.size) - np.repeat(starts, np.diff(np.append(starts, order.size)))
    damp = np.ones(index.n_chunks, np.float32)
    damp[order] = 1.0 / (1.0 + rate * k)
    return damp


PARTS_READ_WHOLE = 4  # about 1,500 tokens: a definition one reads whole


def _lift_parts(index: Index, fused: np.ndarray, share: float) -> np.ndarray:
    """Each part of a definition cut into a few parts scores at least ``share`` of its
    neighbours'. A longer one (a test's 60-part ``main``) is read by the part that matters."""
    rows = np.flatnonzero((index.part[:, 0] > 0) & (index.part[:, 1] <= PARTS_READ_WHOLE))
    if not rows.size:
        return fused
    out = fused.copy()
    # Parts of one definition are consecutive rows numbered 1..n: a part after part 1
    # follows its previous part.
    follows = rows[1:][(rows[1:] == rows[:-1] + 1) & (index.part[rows[1:], 0] > 1)]
    for r in follows.tolist():  # forward: part k from part k-1
        out[r] = max(out[r], share * out[r - 1])
    for r in follows[::-1].tolist():  # backward: part k-1 from part k
        out[r - 1] = max(out[r - 1], share * out[r])
    return out


def prepare(index: Index) -> None:
    """Make the tables ranking keeps per index (file roles, the prose share, the floor
    order, the overload groups, the dense search index) now, rather than in the first
    query after a load or an update."""
    index.faiss_index()
    chunk_roles(index)
    _embedded(index)
    prose_share(index)
    _floor_order(index)
    overload_groups(index)


# A string literal of code: "...", '...' (where it is a string) or `...`, at least 10
# characters.
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.){10,})"|\'((?:[^\'\\\n]|\\.){10,})\''
                      r'|`([^`]{10,})`')
# What a message template fills in or escapes: printf (%s, %-5d, %(name)s), braces ({},
# {0}, {name}, ${x}, #{x}), escapes (\n); the text between them is printed as written.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-+ #0]*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z]"
                          r"|\$?\{[^{}]*\}|#\{[^{}]*\}|\\[nrt]")
_WORD = re.compile(r"[A-Za-z]{2,}")
MESSAGE_ROWS = 400  # chunks, best by BM25, whose literals are compared with the query
_MESSAGE_MIN = 10  # characters of a literal's fixed text, and two words, to count


def _messages(index: Index, query: str, bm25: np.ndarray) -> np.ndarray:
    """Per chunk: the characters of its string literals' fixed text (between
    placeholders) that the query contains, scaled to [0, 1]. Only code chunks among the
    ``MESSAGE_ROWS`` best by BM25 are read: a message the query quotes shares its words."""
    out = np.zeros(index.n_chunks, np.float32)
    text = " ".join(query.split()).lower()
    if len(text) < _MESSAGE_MIN:
        return out
    roles = chunk_roles(index)
    memo: dict[int, tuple[str, ...]] = index.__dict__.setdefault("_literal_parts", {})
    for r in np.argsort(-bm25, kind="stable")[:MESSAGE_ROWS].tolist():
        if bm25[r] <= 0:
            break
        if roles[r] != 0:
            continue
        parts = memo.get(r)
        if parts is None:
            parts = memo[r] = _literal_parts(index.texts[r])
        found = sum(len(p) for p in parts if p in text)
        if found:
            out[r] = found
    return _scaled(out)


def _literal_parts(code: str) -> tuple[str, ...]:
    """The fixed pieces of a chunk's string literals (lower case, spaces folded) that read
    as a message: at least ``_MESSAGE_MIN`` characters and two words apart by a space (a
    literal naming code, ``"matplotlib.pyplot"`` or ``"add_subplot"``, is matched by the
    name and path signals already, and issues quote such names all the time)."""
    parts: set[str] = set()
    for m in _LITERAL.finditer(code):
        literal = next(g for g in m.groups() if g is not None)
        literal = literal.replace('\\"', '"').replace("\\'", "'")
        for piece in _PLACEHOLDER.split(literal):
            piece = " ".join(piece.split()).lower()
            if len(piece) >= _MESSAGE_MIN and " " in piece and len(_WORD.findall(piece)) >= 2:
                parts.add(piece)
    return tuple(sorted(parts))


def _title(query: str) -> str:
    """The query's first non-empty line if more lines follow it, else "" (a one-line
    query is all title, and weighing it twice would only re-scale BM25 against the rest)."""
    lines = [line for line in query.splitlines() if line.strip()]
    return lines[0] if len(lines) > 1 else ""


def _query_words(query: str) -> set[str]:
    """The query's terms as words (not ids): path words are matched by spelling."""
    return {singular(t) for t in query_terms(query)}


def _path_words(index: Index, words: set[str]) -> np.ndarray:
    """Per file: the summed IDF of the query's words found among its path's words
    (folders and file stem), scaled to [0, 1]. ``django/urls/resolvers.py`` for a query
    about URL resolvers."""
    out = np.zeros(index.n_files, np.float32)
    for word in words:
        files = index.path_words.get(word)
        if files is None:
            continue
        idf = float(np.log(1.0 + index.n_files / len(files)))
        out[files] += idf
    return _scaled(out)


def _fuse(signals: dict[str, np.ndarray], weights: Weights) -> np.ndarray:
    total = None
    for name, values in signals.items():
        w = getattr(weights, name)
        if not w:
            continue
        total = values * w if total is None else total + values * w
    assert total is not None
    return total


def _scaled(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the maximum; an all-zero signal stays zero."""
    x = np.asarray(x, dtype=np.float32)
    top = float(x.max()) if x.size else 0.0
    if top <= 0:
        return np.zeros_like(x)
    return np.clip(x / top, 0.0, 1.0)


def _dense(index: Index, q: np.ndarray, k: int = 2000) -> np.ndarray:
    """Cosine similarity for the k nearest chunks (exact inner product); others 0.
    Rescaled so the median of the k is 0 and the best is 1; chunks of files not embedded
    (tests) are neither among the k nor in the median."""
    out = np.zeros(index.n_chunks, np.float32)
    sims, ids = index.nearest(q, k)
    keep = _embedded(index)[ids]  # a file not embedded has no similarity to speak of
    sims, ids = sims[keep], ids[keep]
    if sims.size == 0:
        return out
    base = float(np.median(sims))
    span = max(float(sims[0]) - base, 1e-6)
    out[ids] = np.clip((sims - base) / span, 0.0, 1.0)
    return out


def _embedded(index: Index) -> np.ndarray:
    """Per chunk: whether its file was embedded (``engine.embeds``), kept on the index."""
    got = index.__dict__.get("_embedded")
    if got is None or len(got) != index.n_chunks:
        files = np.fromiter((embeds(p) for p in index.paths), bool, count=index.n_files)
        got = index.__dict__["_embedded"] = files[index.chunk_file]
    return got


def _looks_like_code(word: str, query: str, at: int, prose: bool = False) -> bool:
    """An identifier written as code (snake_case, CamelCase, dotted, called or quoted)
    rather than an English word that happens to name something. ``prose``: tell a plain
    question apart (``is_plain``), where a word beside an apostrophe (don't, the user's),
    a plural acronym (URLs) or a short mixed-case word (NaN) is English. The name signal
    keeps the stricter reading, fitted on SWE-bench issues."""
    if "_" in word or "." in word:
        return True
    stem = word[:-1] if prose and word.endswith("s") and word[:-1].isupper() else word
    if (not prose or len(stem) > 3) and any(c.isupper() for c in stem[1:]) and \
            any(c.islower() for c in stem):
        return True
    end = at + len(word)
    if end < len(query) and query[end] == "(":
        return True
    before = query[at - 1] if at > 0 else ""
    after = query[end] if end < len(query) else ""
    if not prose:
        return bool(before and before in "`'\"" or after and after in "`'\"")
    if "`" in (before, after) or '"' in (before, after):
        return True
    return before == "'" and after == "'"  # 'word' is quoted


_WEAK_NAME = 0.25  # the weight of a name spelled as an English word


def _named_symbols(index: Index, query: str, wrapper: float = 0.0,
                   ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Chunks defining a name the query spells out; stronger for code-like spellings and
    for names defined in few places. Also the names found and the rows of those spelled as
    code."""
    out = np.zeros(index.n_chunks, np.float32)
    table = index.symbols_by_name
    found: dict[str, float] = {}
    for m in IDENT.finditer(query):
        word = m.group(0)
        strong = _looks_like_code(word, query, m.start())
        parts = word.split(".")
        candidates = [word]
        if len(parts) >= 2:
            candidates += [".".join(parts[-2:]), parts[-1]]
        for cand in candidates:
            if cand in table:
                weight = 1.0 if strong else _WEAK_NAME
                if cand != word:
                    weight *= 0.8
                found[cand] = max(found.get(cand, 0.0), weight)
                break
    for m in FRAME.finditer(query):
        name = m.group(3)
        if name in table:
            found[name] = max(found.get(name, 0.0), 1.0)
    for name, weight in found.items():
        rows = table[name]
        out[rows] = np.maximum(out[rows], weight / np.sqrt(len(rows)))
    code_like = [table[n] for n, w in found.items() if w >= 0.8]  # spelled as code
    spelled = np.unique(np.concatenate(code_like)) if code_like else np.zeros(0, np.int64)
    if code_like and wrapper > 0:
        _through_wrappers(index, out, spelled, wrapper)
    return _scaled(out) if found else out, sorted(found), spelled


WRAPPER_LINES = 8  # a named function this short mostly hands its work to a callee
_COMMENT_STARTS = ("//", "/*", "*", "#", "--")


def _is_short(text: str) -> bool:
    """At most WRAPPER_LINES lines of code, not counting comments and blank lines."""
    head = text.lstrip()
    if head.startswith("/*") and "*/" in head:  # a doc comment's lines need not start with *
        text = head.split("*/", 1)[1]
    code = 0
    for line in text.split("\n"):
        s = line.strip()
        if s and not s.startswith(_COMMENT_STARTS):
            code += 1
            if code > WRAPPER_LINES:
                return False
    return True


def _through_wrappers(index: Index, out: np.ndarray, named: np.ndarray, share: float) -> None:
    """A function of a few lines the query names as code (``cJSON_GetObjectItem`` calling
    ``get_object_item``) does its work in what it calls: each function it calls that is
    defined in one or two places gets ``share`` of its name score."""
    table = index.symbols_by_name
    kinds = index.kinds
    for r in named.tolist():
        if kinds[r] not in ("function", "method") or not _is_short(index.chunk(r).text):
            continue
        given = share * float(out[r])
        for name in index.refs[r]:
            rows = table.get(name)
            if rows is None or not 1 <= len(rows) <= 2:
                continue
            for c in rows:
                c = int(c)
                if c != r and kinds[c] in ("function", "method"):
                    out[c] = max(float(out[c]), given)


def _named_parents(index: Index, named: list[str], query: str) -> np.ndarray:
    """Chunks whose enclosing class the query names: a method of a named class is more
    likely meant than a namesake elsewhere."""
    out = np.zeros(index.n_chunks, np.float32)
    names = {n.rsplit(".", 1)[-1] for n in named}
    if not names:
        return out
    for i, parent in enumerate(index.parents):
        if parent and parent.rsplit(".", 1)[-1] in names:
            out[i] = 1.0
    return out


def _named_files(index: Index, query: str) -> tuple[np.ndarray, list[str]]:
    """Files the query names: a path (or its tail), a dotted module, a file name."""
    out = np.zeros(index.n_files, np.float32)
    names = index.files_by_name
    hits: dict[int, float] = {}
    for m in PATHLIKE.finditer(query):
        text = m.group(0).replace("\\", "/").strip("./")
        for f in _path_suffix_matches(index, text):
            hits[f] = max(hits.get(f, 0.0), 1.0)
    for m in IDENT.finditer(query):
        word = m.group(0)
        if "." in word and word in names:
            for f in names[word]:
                hits[f] = max(hits.get(f, 0.0), 1.0)
    for f, w in hits.items():
        out[f] = w
    return out, sorted(index.paths[f] for f in hits)


def _path_suffix_matches(index: Index, text: str) -> list[int]:
    """Files whose path ends with ``text``, or whose path ``text`` ends with (an absolute
    path in a stack trace, from another machine)."""
    parts = [p for p in text.split("/") if p]
    if not parts:
        return []
    name = parts[-1]
    cands = index.files_by_name.get(name, [])
    best: list[int] = []
    best_len = 0
    for f in cands:
        fparts = index.paths[f].split("/")
        k = 0
        while k < min(len(parts), len(fparts)) and parts[-1 - k] == fparts[-1 - k]:
            k += 1
        if k > best_len:
            best, best_len = [f], k
        elif k == best_len and k:
            best.append(f)
    # a bare file name shared by many files says little
    return best if best_len >= 2 or len(best) <= 3 else []


def _structural(index: Index) -> Ranking:
    """No query: rank by how central a chunk is in the reference graph, with definitions
    ahead of module code and code ahead of documents."""
    n = index.n_chunks
    kinds = index.kinds
    prior = np.fromiter((_KIND_PRIOR.get(k, 0.5) for k in kinds), np.float32, count=n)
    if index.graph is not None and index.graph.src.size:
        pr = graph_mod.pagerank(index.graph, prior.copy(), alpha=0.15)
        central = _scaled(pr)
    else:
        central = np.zeros(n, np.float32)
    score = 0.5 * prior + central
    # A map of the code, not of its tests: test models and helpers are central to the test
    # suite (half of Django's map came from tests/), so they count half.
    score = score * np.where(chunk_roles(index) == 1, _TEST_STRUCTURE, 1.0)
    return Ranking(score.astype(np.float32), {"graph": central, "prior": prior}, "structure")


_TEST_STRUCTURE = 0.5
_KIND_PRIOR = {"class": 1.0, "type": 0.9, "function": 0.8, "method": 0.6, "module": 0.4,
               "section": 0.5, "paragraph": 0.3, "lines": 0.2}
