"""What each rendering costs beyond the source itself, per item and per file.

    python bench/framing.py PATH [--encoding cl100k_base]

Every chunk of PATH in full, rendered per chunk (a label line and a fence each) and as
whole files (one header and fence per file: what contextpack does for a file whose every
chunk is packed in full), in markdown and xml; each against the tokens of the raw files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contextpack.api import Packer, Settings  # noqa: E402
from contextpack.render import Header, render_text  # noqa: E402
from contextpack.types import Item  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--encoding", default="cl100k_base")
    args = ap.parse_args()
    packer = Packer(args.path, Settings(embedder="none", encoding=args.encoding))
    ix, tok = packer.index, packer.tokenizer
    items = sorted((Item(ix.chunk(r), "full", int(ix.tok_full[r]), 0.0)
                    for r in range(ix.n_chunks)),
                   key=lambda i: (i.chunk.path, i.chunk.start_line))
    raw = ix.total_tokens()
    header = Header(10**7, 10**7, tok.name, "", "structure",
                    {"items": len(items), "files": ix.n_files, "full": len(items)})
    print(f"{args.path}: {ix.n_files} files, {len(items)} chunks, {raw:,} tokens of raw "
          f"files ({tok.name})")
    print("| rendering | tokens | x raw | extra per chunk | extra per file |")
    print("|---|---:|---:|---:|---:|")
    for fmt in ("markdown", "xml"):
        for name, whole in (("per chunk", frozenset()), ("whole files", frozenset(ix.paths))):
            n = tok.count(render_text(items, header, fmt, whole))
            print(f"| {fmt}, {name} | {n:,} | {n / raw:.3f} | {(n - raw) / len(items):.1f} | "
                  f"{(n - raw) / ix.n_files:.1f} |")


if __name__ == "__main__":
    main()
