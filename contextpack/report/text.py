"""Human-readable reports about an index: the token tree of ``contextpack stats``."""

from __future__ import annotations

from collections import defaultdict

from ..index import Index
from ..types import Pack

CONTEXT_SIZES = (("8k", 8_000), ("32k", 32_000), ("128k", 128_000), ("200k", 200_000),
                 ("1M", 1_000_000))


def token_tree(index: Index, depth: int = 2, top: int = 10) -> str:
    """Tokens per folder (to ``depth`` levels) and the ``top`` largest files."""
    total = index.total_tokens()
    folders: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for path, tokens in zip(index.paths, index.file_tokens, strict=True):
        parts = path.split("/")[:-1]
        for k in range(0, min(depth, len(parts)) + 1):
            key = "/".join(parts[:k]) or "."
            folders[key] += tokens
            counts[key] += 1
    lines = [f"{index.root}: {len(index.paths):,} files, {total:,} tokens ({index.tokenizer})", ""]
    width = max((len(k) for k in folders), default=1) + 2
    for key in sorted(folders, key=lambda k: (k != ".", k)):
        level = 0 if key == "." else key.count("/") + 1
        name = (key if key == "." else key.rsplit("/", 1)[-1] + "/")
        label = "  " * level + name
        share = folders[key] / total if total else 0.0
        lines.append(f"{label:<{width + 2 * depth}} {folders[key]:>12,} tokens {share:6.1%}"
                     f"  {counts[key]:>6,} files")
    if top:
        lines += ["", "largest files:"]
        ranked = sorted(zip(index.file_tokens, index.paths, strict=True),
                        key=lambda t: (-t[0], t[1]))[:top]
        for tokens, path in ranked:
            lines.append(f"  {tokens:>10,}  {path}")
    lines += ["", "fits in common context windows:"]
    for name, size in CONTEXT_SIZES:
        ratio = total / size
        verdict = "fits" if ratio <= 1 else f"{ratio:,.1f}x over"
        lines.append(f"  {name:>5}: {verdict}")
    skipped = len(index.skipped) + len(index.scan_skipped)
    if skipped:
        lines += ["", f"{skipped:,} files skipped (binary, generated, too large, unreadable)"]
    return "\n".join(lines) + "\n"


def explain(pack: Pack, left_out: int = 10) -> str:
    """Why each item is in the pack (signals, score, what brought it in) and why the best
    of the rest are not: the report of ``contextpack build --explain``."""
    lines = [f"{len(pack.items)} items, {pack.tokens:,} of {pack.budget:,} tokens "
             f"({pack.encoding}); signals are weight x scaled score, see contextpack.rank"]
    for item in sorted(pack.items, key=lambda i: (-i.score, i.path, i.start_line)):
        c = item.chunk
        lines.append(f"  {item.view:<8} {c.path}:{c.start_line}-{c.end_line} {c.label}"
                     f"  [{item.tokens} tokens]")
        if item.reason:
            lines.append(f"           {item.reason}")
    if pack.dropped:
        lines.append("best of the chunks left out:")
        for d in pack.dropped[:left_out]:
            c = d.chunk
            lines.append(f"  {c.path}:{c.start_line}-{c.end_line} {c.label} "
                         f"(score {d.score:.3f}): {d.reason}")
    return "\n".join(lines) + "\n"
