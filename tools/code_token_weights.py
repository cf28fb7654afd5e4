"""Weigh the static embedder's tokens by how rare they are in code.

    python tools/code_token_weights.py           # writes contextpack/data/minilm-code-idf.npy
    python tools/code_token_weights.py --check   # recount and compare with what is there

The static table (``tools/build_static_table.py``) damps frequent tokens by Zipf's law on
the WordPiece id, which stands in for English counts. Code is not English: ``(``, ``,``,
``;``, ``const`` and ``self`` fill a chunk, and summed over a chunk they pointed every
vector of a code base the same way, so a question's words barely told chunks apart. This
script counts in how many pieces of real code (2,000 characters, as the embedder reads a
chunk's head) each token occurs, and writes its inverse document frequency,
``log((N + 1) / (df + 1))``, one float16 per vocabulary row. English function words
(``contextpack.lexical.STOPWORDS``: how, what, when, the) are capped at 0.5, since a
question is made of them and code comments rarely are. ``StaticEmbedder`` multiplies its
table by it.

The code read is not the benchmarks' (``bench/``): the C and C++ headers under
``/usr/include`` and CPython's standard library as Debian bookworm installs them, npm's
own ``node_modules``, and source packages in the languages those lack, fetched at pinned
versions as the breadth benchmark fetches its projects (Rust, Go, Java, PHP; this
machine's Debian mirror held no Ruby source that would unpack). Each
source gives at most ``PER_SOURCE`` pieces, chosen by a hash of the path, so one large
source does not decide the weights alone.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from contextpack.embed import CODE_IDF, StaticEmbedder, load_vocab  # noqa: E402
from contextpack.lexical import STOPWORDS  # noqa: E402

SYSTEM = ["/usr/include", "/usr/lib/python3.11", "/usr/lib/node_modules"]
ORJSON_SHA256 = "c378074e0c46035dc66e57006993233ec66bf8487d501bab41649b4b7289ed4d"
PACKAGES = [
    {"name": "orjson", "source": {"kind": "pypi", "package": "orjson", "version": "3.10.9",
                                  "filename": "orjson-3.10.9.tar.gz", "sha256": ORJSON_SHA256}},
    {"name": "cobra", "source": {"kind": "debian", "package": "golang-github-spf13-cobra",
                               "version": "1.6.1-1"}},
    {"name": "commons-lang3", "source": {"kind": "debian", "package": "libcommons-lang3-java",
                                         "version": "3.12.0-2+deb12u1"}},
    {"name": "symfony-console", "source": {"kind": "debian", "package": "php-symfony-console",
                                           "version": "5.4.53+dfsg-0+deb12u1"}},
]
SUFFIXES = (".py", ".c", ".h", ".hpp", ".cc", ".cpp", ".js", ".ts", ".rs", ".go", ".java",
            ".rb", ".php", ".cs")
PIECE_CHARS = 2000
PIECES_PER_FILE = 20
PER_SOURCE = 4000
STOPWORD_CAP = 0.5


def _files(root: Path) -> list[Path]:
    found = [p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file()
             and p.relative_to(root).parts[0] != "debian"]  # Debian's packaging
    return sorted(found, key=lambda p: hashlib.sha1(str(p.relative_to(root)).encode()).digest())


def _pieces(root: Path) -> list[str]:
    out: list[str] = []
    for path in _files(root):
        try:
            text = path.read_text(encoding="utf-8", errors="ignore")
        except OSError:
            continue
        for i in range(0, min(len(text), PIECE_CHARS * PIECES_PER_FILE), PIECE_CHARS):
            out.append(text[i : i + PIECE_CHARS])
            if len(out) >= PER_SOURCE:
                return out
    return out


def _roots(cache: Path) -> list[Path]:
    import breadth_fetch as fetch

    roots = [Path(p) for p in SYSTEM if Path(p).is_dir()]
    missing = sorted(set(SYSTEM) - {str(p) for p in roots})
    if missing:
        raise SystemExit(f"missing system sources: {missing} (the weights were counted on "
                         "Debian bookworm with python3.11 and npm installed)")
    return roots + [fetch.fetch(p, cache) for p in PACKAGES]


def weights(cache: Path) -> np.ndarray:
    embedder = StaticEmbedder()  # tokenizing only: it reads the vocabulary, not the weights
    vocab = load_vocab()
    df = np.zeros(len(vocab), np.int64)
    n = 0
    for root in _roots(cache):
        pieces = _pieces(root)
        for piece in pieces:
            ids = sorted(set(embedder.token_ids(piece)))
            if ids:
                df[ids] += 1
                n += 1
        print(f"  {root}: {len(pieces)} pieces", file=sys.stderr)
    idf = np.log((n + 1) / (df + 1))
    for word in STOPWORDS:
        i = vocab.get(word)
        if i is not None:
            idf[i] = min(idf[i], STOPWORD_CAP)
    return idf.astype(np.float16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare a fresh count with the shipped file; write nothing")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "contextpack-bench" / "breadth")
    args = parser.parse_args()
    idf = weights(args.cache)
    if args.check:
        shipped = np.load(CODE_IDF, allow_pickle=False)
        print(f"weights: {'identical' if np.array_equal(shipped, idf) else 'differ'}")
        return
    with open(CODE_IDF, "wb") as fh:
        np.save(fh, idf, allow_pickle=False)
    digest = hashlib.sha256(CODE_IDF.read_bytes()).hexdigest()
    print(f"{CODE_IDF.relative_to(ROOT)}: {CODE_IDF.stat().st_size:,} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
