"""Line-level helpers shared by the chunkers, and the plain-text and line-window chunkers."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from ..types import Chunk, SourceFile

WINDOW_LINES = 60


# Lines that only close a block, or only open a C++ access section, carry no content of
# their own: a chunk of nothing but `public:` between two methods is not worth an item.
CLOSERS = frozenset({"end", "end;", "end.", "fi", "done", "esac", "endif", "endfor", "endwhile",
                     "public:", "private:", "protected:"})


def has_content(lines: list[str], start: int, end: int) -> bool:
    """True if rows start..end hold a letter or digit beyond block closers like `}` or `end`."""
    for r in range(start, end + 1):
        line = lines[r].strip()
        if line not in CLOSERS and any(ch.isalnum() for ch in line):
            return True
    return False


def trim_blank_edges(lines: list[str], start: int, end: int) -> tuple[int, int] | None:
    """The span without blank rows at either edge, or None if it is all blank."""
    while start <= end and not lines[start].strip():
        start += 1
    while end >= start and not lines[end].strip():
        end -= 1
    return (start, end) if start <= end else None


def split_run(
    lines: list[str],
    start: int,
    end: int,
    max_chars: int,
    boundaries: Callable[[], Iterable[int]],
) -> list[tuple[int, int]]:
    """Cut rows start..end into pieces of at most ~max_chars, preferring the given
    boundary rows (statement starts), then blank rows, then any row."""
    sizes = [len(lines[r]) + 1 for r in range(start, end + 1)]
    if sum(sizes) <= max_chars:
        return [(start, end)]
    prefix = [0]
    for s in sizes:
        prefix.append(prefix[-1] + s)
    preferred = sorted({r for r in boundaries() if start < r <= end})
    blanks = [r for r in range(start + 1, end + 1) if not lines[r].strip()]
    pieces: list[tuple[int, int]] = []
    s = start
    while s <= end:
        # furthest row r such that rows s..r-1 fit
        limit = bisect.bisect_right(prefix, prefix[s - start] + max_chars) - 1 + start
        if limit > end:
            pieces.append((s, end))
            break
        cut = _last_in(preferred, s + 1, limit) or _last_in(blanks, s + 1, limit)
        if cut is None or cut - s < 3:
            cut = max(limit, s + 1)
        pieces.append((s, cut - 1))
        s = cut
    # drop blank edges inside pieces; keep only pieces with content
    out = []
    for a, b in pieces:
        span = trim_blank_edges(lines, a, b)
        if span and has_content(lines, *span):
            out.append(span)
    return out or [(start, end)]


def _last_in(rows: list[int], lo: int, hi: int) -> int | None:
    i = bisect.bisect_right(rows, hi) - 1
    if i >= 0 and rows[i] >= lo:
        return rows[i]
    return None


def first_lines_skeleton(text: str, keep: int = 2) -> str:
    """The first lines of a text and an ellipsis."""
    rows = text.split("\n")
    if len(rows) <= keep + 1:
        return text
    return "\n".join(rows[:keep] + ["..."])


def window_chunks(src: SourceFile, max_chars: int, kind: str = "lines") -> list[Chunk]:
    """Fixed windows of about WINDOW_LINES lines, cut at blank lines where possible."""
    lines = src.text.split("\n")
    chunks = []
    r = 0
    n = len(lines)
    while r < n:
        end = min(n - 1, r + WINDOW_LINES - 1)
        if end < n - 1:
            for back in range(end, max(r + WINDOW_LINES // 2, r), -1):
                if not lines[back].strip():
                    end = back
                    break
        span = trim_blank_edges(lines, r, end)
        if span and has_content(lines, *span):
            for s, e in split_run(lines, span[0], span[1], max_chars, lambda: ()):
                text = "\n".join(lines[s : e + 1])
                chunks.append(
                    Chunk(
                        path=src.path,
                        start_line=s + 1,
                        end_line=e + 1,
                        kind=kind,
                        symbol="",
                        language=src.language,
                        text=text,
                        skeleton=first_lines_skeleton(text),
                    )
                )
        r = end + 1
    return chunks


def paragraph_chunks(src: SourceFile, max_chars: int) -> list[Chunk]:
    """Plain text: blank-line separated paragraphs, grouped up to max_chars."""
    lines = src.text.split("\n")
    paras: list[tuple[int, int]] = []
    r = 0
    n = len(lines)
    while r < n:
        if not lines[r].strip():
            r += 1
            continue
        s = r
        while r < n and lines[r].strip():
            r += 1
        paras.append((s, r - 1))
    chunks: list[Chunk] = []
    group: list[tuple[int, int]] = []
    size = 0

    def flush() -> None:
        if not group:
            return
        s, e = group[0][0], group[-1][1]
        for a, b in split_run(lines, s, e, max_chars, lambda: [p[0] for p in paras]):
            text = "\n".join(lines[a : b + 1])
            chunks.append(
                Chunk(
                    path=src.path,
                    start_line=a + 1,
                    end_line=b + 1,
                    kind="paragraph",
                    symbol="",
                    language=src.language,
                    text=text,
                    skeleton=first_lines_skeleton(text),
                )
            )

    for s, e in paras:
        psize = sum(len(lines[i]) + 1 for i in range(s, e + 1))
        if group and size + psize > max_chars // 2:
            flush()
            group, size = [], 0
        group.append((s, e))
        size += psize
    flush()
    return [c for c in chunks if any(ch.isalnum() for ch in c.text)]
