"""A nested treemap of files by folder, laid out with squarify and drawn as SVG rects.

The layout is computed here, once, so the report is a static picture that a browser only
zooms (by moving the SVG viewBox); every number is printed with fixed precision, so the
same tree gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import squarify

#: The drawing's coordinate space: about one unit per pixel on a laptop screen.
WIDTH, HEIGHT = 1200.0, 660.0
#: At most this many files get a rect of their own; the smallest are merged per folder
#: ("N smaller files") so a huge repository still gives a small, quick page.
MAX_FILE_RECTS = 12_000
#: Files smaller than this (square units) are merged too: invisible even zoomed in 10x.
MIN_AREA = 0.5


@dataclass
class Node:
    """A folder (``file`` < 0) or a file (``file``: its row in the report's file table)."""

    name: str
    path: str
    size: float = 0.0
    file: int = -1
    folder: int = -1  # row in the folder table, for folders
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rect:
    """One drawn rect: a folder, a file, or the merged small files of a folder."""

    kind: str  # "d" folder, "f" file, "a" aggregate of small files
    x: float
    y: float
    w: float
    h: float
    ref: int  # file row for "f"; folder row for "d" and "a"
    count: int = 0  # files merged, for "a"


def build_tree(paths: Sequence[str], sizes: Sequence[float]) -> tuple[Node, list[Node]]:
    """The folder tree of ``paths`` (POSIX, relative) with summed sizes; also the folders,
    in path order (the root first)."""
    root = Node("", "")
    by_path = {"": root}
    for row, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        parts = path.split("/")
        parent = root
        for k in range(1, len(parts)):
            key = "/".join(parts[:k])
            node = by_path.get(key)
            if node is None:
                node = by_path[key] = Node(parts[k - 1], key)
                parent.children.append(node)
            parent = node
        parent.children.append(Node(parts[-1], path, float(size), row))
    _sum(root)
    folders = [by_path[k] for k in sorted(by_path)]
    for i, node in enumerate(folders):
        node.folder = i
    return root, folders


def _sum(node: Node) -> float:
    if node.file < 0:
        node.size = sum(_sum(c) for c in node.children)
    return node.size


def layout(root: Node, width: float = WIDTH, height: float = HEIGHT,
           max_files: int = MAX_FILE_RECTS) -> list[Rect]:
    """Rects for the tree, parents before children (so children draw on top)."""
    if root.size <= 0:
        return []
    file_sizes = sorted((n.size for n in _files(root)), reverse=True)
    scale = width * height / root.size
    floor = MIN_AREA / scale  # a size below which a file is merged
    if len(file_sizes) > max_files:
        floor = max(floor, file_sizes[max_files - 1])  # ties may keep a few more
    out: list[Rect] = []
    _place(root, 0.0, 0.0, width, height, 0, floor, out)
    return out


def _files(node: Node) -> list[Node]:
    if node.file >= 0:
        return [node]
    return [f for c in node.children for f in _files(c)]


def _pad(depth: int) -> float:
    return 2.0 if depth == 0 else 1.2 if depth < 3 else 0.6


def _place(node: Node, x: float, y: float, w: float, h: float, depth: int, floor: float,
           out: list[Rect]) -> None:
    if node.file >= 0:
        out.append(Rect("f", x, y, w, h, node.file))
        return
    out.append(Rect("d", x, y, w, h, node.folder))
    pad = _pad(depth)
    # Room for the folder's name above its contents, once it is large enough to read.
    top = 13.0 if depth > 0 and w > 60 and h > 40 else pad
    inner_w, inner_h = w - 2 * pad, h - pad - top
    if inner_w <= 1 or inner_h <= 1:
        return
    big = [c for c in node.children if c.size > 0 and (c.file < 0 or c.size >= floor)]
    small = [c for c in node.children if c.size > 0 and c.file >= 0 and c.size < floor]
    parts: list[tuple[float, Callable[[float, float, float, float], None]]] = []
    for child in sorted(big, key=lambda c: (-c.size, c.name)):
        parts.append((child.size, _placer(child, depth + 1, floor, out)))
    if small:
        total = sum(c.size for c in small)
        parts.append((total, _merged(node.folder, len(small), out)))
    parts.sort(key=lambda p: -p[0])  # stable: ties keep name order
    sizes = [s for s, _ in parts]
    area = inner_w * inner_h
    scaled = squarify.normalize_sizes(sizes, inner_w, inner_h) if sum(sizes) else sizes
    if not any(s > 0 for s in scaled) or area <= 0:
        return
    for (_, draw), r in zip(parts, squarify.squarify(scaled, x + pad, y + top, inner_w, inner_h),
                            strict=True):
        draw(r["x"], r["y"], r["dx"], r["dy"])


def _placer(child: Node, depth: int, floor: float,
            out: list[Rect]) -> Callable[[float, float, float, float], None]:
    def draw(x: float, y: float, w: float, h: float) -> None:
        _place(child, x, y, w, h, depth, floor, out)
    return draw


def _merged(folder: int, count: int,
            out: list[Rect]) -> Callable[[float, float, float, float], None]:
    def draw(x: float, y: float, w: float, h: float) -> None:
        out.append(Rect("a", x, y, w, h, folder, count))
    return draw


def num(v: float) -> str:
    """Fixed precision, no trailing zeros: the same float prints the same everywhere."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
