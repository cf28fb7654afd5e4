"""How far another tokenizer's count can be from the one contextpack counts with.

Models without a public tiktoken encoding (Claude, Gemini, DeepSeek...) are counted with
cl100k_base, so a pack that fills their window by cl100k's count may overflow it by the
real tokenizer's. This measures, per file kind (code, prose), the ratio of other
tokenizers' counts to cl100k's over real source trees; the margins in
``contextpack/data/models.json`` are sized from its output.

    python bench/tokenizer_ratios.py DIR... [--tokenizer NAME=PATH/tokenizer.json]...

Only tokenizers available offline are measured: cl100k_base, o200k_base, and any Hugging
Face ``tokenizer.json`` given (e.g. the legacy Claude tokenizer older ``anthropic`` SDKs
shipped: ``pip download --no-deps anthropic==0.34.2``, then unzip
``anthropic/tokenizer.json``). Per file, the ratio; per kind, the token-weighted ratio and
the 95th percentile over files of at least 200 tokens.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contextpack.tokens import get_tokenizer  # noqa: E402

CODE = {".py", ".ts", ".js", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".rb", ".php",
        ".cts", ".mts", ".cjs", ".mjs"}
PROSE = {".md", ".rst", ".txt"}


def files(roots: list[str]) -> list[tuple[str, str]]:
    out = []
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in sorted(names):
                ext = os.path.splitext(name)[1].lower()
                kind = "code" if ext in CODE else "prose" if ext in PROSE else None
                if kind is None:
                    continue
                path = os.path.join(dirpath, name)
                if os.path.getsize(path) > 1_000_000:
                    continue
                try:
                    out.append((kind, Path(path).read_text("utf-8")))
                except UnicodeDecodeError:
                    continue
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("roots", nargs="+")
    ap.add_argument("--tokenizer", action="append", default=[], metavar="NAME=PATH")
    args = ap.parse_args()
    base = get_tokenizer("cl100k_base")
    others = {"o200k_base": get_tokenizer("o200k_base")}
    for spec in args.tokenizer:
        name, _, path = spec.partition("=")
        others[name] = get_tokenizer(tokenizer_file=path)
    texts = files(args.roots)
    print(f"{len(texts)} files from {', '.join(args.roots)}")
    print("| kind | tokenizer | files | cl100k tokens | chars/cl100k token | ratio (all) | "
          "p95 ratio per file | max |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("code", "prose"):
        group = [t for k, t in texts if k == kind]
        if not group:
            continue
        ref = np.asarray(base.count_many(group), float)
        chars = sum(map(len, group))
        big = ref >= 200
        for name, tok in others.items():
            got = np.asarray(tok.count_many(group), float)
            per = got[big] / ref[big]
            print(f"| {kind} | {name} | {len(group)} | {int(ref.sum()):,} | "
                  f"{chars / ref.sum():.2f} | {got.sum() / ref.sum():.3f} | "
                  f"{np.percentile(per, 95):.3f} | {per.max():.3f} |")


if __name__ == "__main__":
    main()
