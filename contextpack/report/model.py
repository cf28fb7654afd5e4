"""What an HTML report shows, as plain data: each file's tokens and what became of it in
the pack (or, for ``stats``, what kind of file it is), the items, the chunks left out.

Everything is sorted and rounded here, so the page built from it is byte-identical for
the same pack.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..types import Dropped, Item, Pack, SkipKind, Skipped, SourceTokens

#: Bytes per token assumed for files that were never tokenized (skipped ones), so they
#: can be drawn beside the rest: about what cl100k_base gives on source code.
BYTES_PER_TOKEN = 4

# (key, legend label, colour). Pack reports colour files by what went into the pack.
PACK_CATEGORIES = (
    ("full", "packed in full", "#2b8a3e"),
    ("skeleton", "packed as skeleton", "#4dabf7"),
    ("mention", "mentioned by name", "#9775fa"),
    ("room", "best left out: no room", "#f59f00"),
    ("duplicate", "left out: near-duplicate", "#f06595"),
    ("rest", "left out: ranked lower", "#dde1e6"),
)
# Stats reports colour files by what they are.
STATS_CATEGORIES = (
    ("code", "code", "#4dabf7"),
    ("test", "tests", "#69db7c"),
    ("doc", "docs", "#ffd43b"),
    ("other", "other text", "#ced4da"),
    ("vendored", "vendored", "#e599f7"),
)
SKIP_CATEGORIES = (
    ("binary", "skipped: binary", "#868e96"),
    ("generated", "skipped: minified or generated", "#a9825a"),
    ("large", "skipped: too large", "#495057"),
    ("unread", "skipped: lock, empty, unreadable, link", "#adb5bd"),
)
SKIP_KEYS = frozenset(k for k, _, _ in SKIP_CATEGORIES)
#: A folder name that marks third-party code copied into the repository.
VENDOR_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "third-party",
                         "thirdparty", "node_modules", "bower_components"})
#: Rows of items and left-out chunks kept in the page (the tables say how many more).
MAX_ITEMS = 2000


#: The legend category of each kind of skip; any other kind is "unread".
_SKIP_CATEGORY: dict[SkipKind, str] = {"binary": "binary", "minified": "generated",
                                       "translation": "generated", "too_large": "large"}


def skip_category(kind: SkipKind) -> str:
    """The legend category of a kind of skip."""
    return _SKIP_CATEGORY.get(kind, "unread")


def is_vendored(path: str) -> bool:
    return any(part in VENDOR_DIRS for part in path.split("/")[:-1])


@dataclass
class FileRow:
    """One file of the treemap: indexed (``tokens`` counted) or skipped (estimated)."""

    path: str
    tokens: int
    category: str
    language: str = ""
    chunks: int = 0
    packed: int = 0  # tokens of this file's items in the pack
    items: list[int] = field(default_factory=list)  # rows of Report.items
    left_out: list[int] = field(default_factory=list)  # rows of Report.left_out
    redactions: int = 0
    skipped: str = ""  # the skip reason; tokens are then bytes / BYTES_PER_TOKEN
    size: int = 0  # bytes, for skipped files


@dataclass
class Report:
    """Everything a page shows."""

    kind: str  # "pack" or "stats"
    root: str
    encoding: str
    files: list[FileRow]
    categories: tuple[tuple[str, str, str], ...]
    items: list[Item] = field(default_factory=list)
    left_out: list[Dropped] = field(default_factory=list)
    more_items: int = 0
    pack: Pack | None = None
    spent: Spent | None = None
    item_tokens: list[int] = field(default_factory=list)  # exact, aligned with items

    @property
    def source_tokens(self) -> int:
        return sum(f.tokens for f in self.files if not f.skipped)

    def totals(self) -> dict[str, int]:
        """Tokens (estimated for skipped files) per category."""
        out: Counter[str] = Counter()
        for f in self.files:
            out[f.category] += f.tokens
        return dict(out)


def _skipped_rows(skipped: Sequence[Skipped]) -> list[FileRow]:
    rows = []
    for s in skipped:
        if s.path == "." or s.kind == "unreadable_folder":
            continue
        size = max(int(s.size or 0), 0)
        rows.append(FileRow(s.path, max(size // BYTES_PER_TOKEN, 1), skip_category(s.kind),
                            skipped=s.reason, size=size))
    return rows


def stats_report(root: str, encoding: str, files: Sequence[SourceTokens],
                 skipped: Sequence[Skipped], redactions: Sequence[str] = ()) -> Report:
    """The report of ``contextpack stats``: every file by kind (code, tests, docs...)."""
    from ..rank import ROLES, file_role

    found = Counter(redactions)  # a path once per secret found in it
    rows = []
    for f in files:
        cat = "vendored" if is_vendored(f.path) else ROLES[file_role(f.path, f.language)]
        rows.append(FileRow(f.path, f.tokens, cat, f.language, f.chunks,
                            redactions=found[f.path]))
    rows += _skipped_rows(skipped)
    rows.sort(key=lambda r: r.path)
    return Report("stats", root, encoding, rows, STATS_CATEGORIES + SKIP_CATEGORIES)


def pack_report(pack: Pack, root: str = "") -> Report:
    """The report of a pack: every file coloured by what became of it."""
    items = sorted(pack.items, key=lambda i: (i.path, i.start_line, i.end_line))
    more = max(0, len(items) - MAX_ITEMS)
    if more:  # keep the best, shown in path order
        best = sorted(items, key=lambda i: (-i.score, i.path, i.start_line))[:MAX_ITEMS]
        items = sorted(best, key=lambda i: (i.path, i.start_line, i.end_line))
    dropped = list(pack.dropped)
    by_file: dict[str, list[int]] = defaultdict(list)
    cost = spent(pack)
    packed: Counter[str] = Counter(cost.files)
    views: dict[str, set[str]] = defaultdict(set)
    for i, n in zip(pack.items, cost.items, strict=True):
        packed[i.path] += n
        views[i.path].add(i.view)
    for k, i in enumerate(items):
        by_file[i.path].append(k)
    left: dict[str, list[int]] = defaultdict(list)
    for k, d in enumerate(dropped):
        left[d.chunk.path].append(k)
    found = Counter(r["path"] for r in pack.stats.get("redactions", ()))
    rows = []
    for f in pack.files:
        rows.append(FileRow(f.path, f.tokens, _pack_category(views[f.path], f.path, dropped,
                                                             left), f.language, f.chunks,
                            packed[f.path], by_file.get(f.path, []), left.get(f.path, []),
                            found[f.path]))
    rows += _skipped_rows(pack.skipped)
    rows.sort(key=lambda r: r.path)
    exact = {id(i): n for i, n in zip(pack.items, cost.items, strict=True)}
    return Report("pack", root, pack.encoding, rows, PACK_CATEGORIES + SKIP_CATEGORIES,
                  items, dropped, more, pack, cost, [exact[id(i)] for i in items])


@dataclass(frozen=True, slots=True)
class Spent:
    """Where a pack's tokens went, counted exactly: each item's rendered block (label,
    fences and all), each file's heading, and the pack's header (the rest)."""

    items: tuple[int, ...]  # aligned with pack.items
    files: dict[str, int]
    header: int
    exact: bool


def spent(pack: Pack) -> Spent:
    """Count the pack's blocks again with its tokenizer; where that tokenizer cannot be
    had again (a tokenizer.json), scale the items' estimated costs to the total instead."""
    from ..errors import ContextpackError
    from ..render import file_frame, renderer_for
    from ..tokens import get_tokenizer

    renderer = renderer_for(pack.format)
    count = None
    if not pack.encoding.startswith("hf:"):  # a tokenizer.json: its path is not kept
        try:
            count = get_tokenizer(pack.encoding).count
        except ContextpackError:
            pass
    if count is None:
        total = sum(i.tokens for i in pack.items) or 1
        share = min(1.0, pack.tokens / total)
        items = tuple(int(i.tokens * share) for i in pack.items)
        return Spent(items, {}, max(0, pack.tokens - sum(items)), False)
    sizes, files = [], Counter[str]()
    previous: Item | None = None
    whole: dict[str, list[Item]] = {}  # files rendered as one block (fit.WHOLE_FILE)
    for item in pack.items:
        if item.metadata.get("whole_file"):
            whole.setdefault(item.path, []).append(item)
    for item in pack.items:  # in output order, as render.blocks walks them
        same_file = previous is not None and previous.path == item.path
        if item.path in whole:  # its text alone; the file's block pays for the framing
            sizes.append(count(item.chunk.text))
            if not same_file:
                files[item.path] += count(renderer.whole_file(whole[item.path]))
                files[item.path] -= sum(count(i.chunk.text) for i in whole[item.path])
            previous = item
            continue
        if not same_file:
            files[item.path] += count(file_frame(renderer, item.path))
        sizes.append(count(renderer.item(item, previous if same_file else None)))
        previous = item
    header = max(0, pack.tokens - sum(sizes) - sum(files.values()))
    return Spent(tuple(sizes), dict(files), header, True)


def _pack_category(views: set[str], path: str, dropped: Sequence[Dropped],
                   left: dict[str, list[int]]) -> str:
    for view in ("full", "skeleton", "mention"):
        if view in views:
            return view
    rows = left.get(path)
    if rows:
        return "duplicate" if dropped[rows[0]].kind == "near_duplicate" else "room"
    return "rest"


def folder_sizes(report: Report, depth: int) -> list[tuple[str, int, int]]:
    """(folder, tokens, files) of the indexed files, for folders up to ``depth`` deep."""
    tokens: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for f in report.files:
        if f.skipped:
            continue
        parts = f.path.split("/")[:-1]
        for k in range(1, min(depth, len(parts)) + 1):
            key = "/".join(parts[:k])
            tokens[key] += f.tokens
            counts[key] += 1
    return [(k, tokens[k], counts[k]) for k in sorted(tokens)]


def as_json_rows(report: Report) -> dict[str, Any]:
    """The data the page's script reads (hover and click): short arrays, not objects."""
    files = [[f.path, f.tokens, f.category, f.language, f.chunks, f.packed, f.items,
              f.left_out, f.redactions, f.skipped, f.size] for f in report.files]
    items = [[i.path, i.start_line, i.end_line, i.chunk.kind, i.chunk.label, i.view,
              n, round(i.score, 3), i.reason, _signals(i.metadata.get("signals"))]
             for i, n in zip(report.items, report.item_tokens, strict=True)]
    left = [[d.chunk.path, d.chunk.start_line, d.chunk.end_line, d.chunk.label,
             round(d.score, 3), d.reason, _signals(d.signals)] for d in report.left_out]
    return {"root": report.root, "files": files, "items": items, "left": left,
            # [key, label, colour, hatched]: skipped files are hatched on a light ground
            "cats": [[k, label, colour, int(k in SKIP_KEYS)]
                     for k, label, colour in report.categories]}


def _signals(signals: Any) -> list[list[Any]]:
    if not signals:
        return []
    return [[k, round(float(v), 3)] for k, v in signals.items()]
