"""Snapshots: context files kept in the repository and refreshed on every commit.

``snapshot(root)`` packs the files the project configuration names (see config.py): a
query-less repository map and any standing queries, each with its own budget. Rendering is
deterministic (no clock, no absolute paths, items by path then line), so a snapshot changes
only where the code changed and reviews show a small diff.

Stable at the margin: items are taken in order of value per token and the first that does
not fit ends the pack (``PackOptions.fill=False``), with ``headroom`` tokens left free.
When the file on disk holds a selection that a slightly different headroom reproduces
(a function grew a line, nothing's references changed), that selection is kept: the diff
shows the edited item and the header's counts, not a reshuffle of the pack's tail. The
result is a fixed point, so a second run (or ``--check`` in CI) yields the same bytes.

A file is rewritten only when its bytes differ, through a temporary file and a rename, so
an interrupted run leaves the old snapshot or the new one. ``check=True`` writes nothing
and reports which files are stale: the pre-commit hook and CI share one code path.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .api import Packer, Settings
from .config import ProjectConfig, SnapshotSpec, load_config
from .errors import ConfigError, SourceError
from .fit import PackOptions
from .index import Progress
from .output import confined, write_output
from .rank import Weights
from .sources import DEFAULT_MAX_FILE_BYTES, SourceOptions, scan
from .types import Item, Pack

# (path, kind, symbol, n-th such item of its file) -> view level (mention 0 ... full 2).
# Line numbers stay out: an edit above an item moves it without changing the choice.
Selection = dict[tuple[str, str, str, int], int]
_LEVEL = {"mention": 0, "skeleton": 1, "full": 2}
_SEARCH_STEPS = 10


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What happened to one snapshot file.

    ``stale``: the file was missing or differed from a fresh snapshot; ``written``: it
    was (re)written, which ``check`` mode never does.
    """

    output: str  # relative to the root, POSIX separators
    query: str
    tokens: int
    budget: int
    stale: bool
    written: bool


def snapshot(
    root: str | os.PathLike[str] = ".",
    *,
    check: bool = False,
    config: ProjectConfig | None = None,
    config_file: str | os.PathLike[str] | None = None,
    cache_dir: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> tuple[SnapshotResult, ...]:
    """Bring ``root``'s snapshot files up to date (or, with ``check``, only compare).

    The configuration comes from ``config``, else ``config_file``, else ``root``'s
    ``.contextpack.toml`` or ``pyproject.toml``, else the default map.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise SourceError(f"snapshot needs the repository's folder, and {root!r} is not one; "
                          "pass the folder that holds pyproject.toml or .contextpack.toml", root)
    cfg = config or load_config(root, config_file)
    # A snapshot must never feed on itself (or on another snapshot): leave every output
    # out of the sources. The walker already skips .contextpack/.
    targets = [confined(root, spec.output) for spec in cfg.snapshots]  # before any work
    real_root = os.path.realpath(root)
    resolved = tuple(Path(os.path.relpath(t, real_root)).as_posix() for t in targets)
    excluded = cfg.exclude + tuple(_exact_glob(out) for out in
                                   dict.fromkeys((*(s.output for s in cfg.snapshots), *resolved)))
    settings = Settings(
        encoding=cfg.encoding,
        embedder=cfg.embedder,
        sources=SourceOptions(include=cfg.include, exclude=excluded,
                              max_file_bytes=cfg.max_file_bytes or DEFAULT_MAX_FILE_BYTES),
        cache_dir=cache_dir,
        use_cache=use_cache,
        redact=cfg.redact,
        pack=PackOptions(fill=False),
        weights=Weights.from_mapping(dict(cfg.weights)),
    )
    packer = Packer(root, settings, progress)
    results = []
    for spec, target in zip(cfg.snapshots, targets, strict=True):
        old = _read(target)
        if old is not None and not check:
            _refuse_sources(root, cfg, spec, old)
        pack = _stable_pack(packer, spec, _parse_selection(old, spec.format))
        data = pack.text.encode("utf-8")
        stale = not _same(old, data)
        if stale and not check:
            _write(target, data, spec.output)
        results.append(SnapshotResult(spec.output, spec.query, pack.tokens, pack.budget,
                                      stale, stale and not check))
    return tuple(results)


def _exact_glob(path: str) -> str:
    """A glob matching exactly ``path`` from the root: anchored, metacharacters escaped."""
    escaped = "".join(f"[{ch}]" if ch in "*?[" else ch for ch in path)
    return "/" + escaped


def headroom(budget: int) -> int:
    """Tokens a fresh snapshot leaves free: what later edits may grow by before an item at
    the margin has to give way."""
    return max(16, budget // 100)


def _stable_pack(packer: Packer, spec: SnapshotSpec, prior: Selection | None) -> Pack:
    """A fresh pack, unless a headroom in [0, 2 x headroom] reproduces ``prior``'s choice.

    With ``fill=False`` the choice grows with the room (a prefix of one order), so a
    bisection on the headroom finds the prior choice when it is still there to find.
    """
    base = packer.settings

    def pack_with(room: int) -> Pack:
        packer.settings = dataclasses.replace(
            base, pack=dataclasses.replace(base.pack, headroom=room))
        try:
            return packer.pack(spec.query, spec.budget, spec.format)
        finally:
            packer.settings = base

    h = headroom(spec.budget)
    fresh = pack_with(h)
    if prior is None or selection(fresh.items) == prior:
        return fresh
    lo, hi = 0, 2 * h
    for _ in range(_SEARCH_STEPS):
        if lo > hi:
            break
        mid = (lo + hi) // 2
        candidate = pack_with(mid)
        chosen = selection(candidate.items)
        if chosen == prior:
            return candidate
        if _within(chosen, prior):
            hi = mid - 1  # less than before fits: free more of the budget
        elif _within(prior, chosen):
            lo = mid + 1
        else:
            break  # another choice altogether (the ranking changed): start afresh
    return fresh


def selection(items: Iterable[Item]) -> Selection:
    """Which chunks a pack shows, and how, without line numbers."""
    return _selection((i.chunk.path, i.chunk.kind, i.chunk.label, i.view) for i in items)


def _selection(entries: Iterable[tuple[str, str, str, str]]) -> Selection:
    out: Selection = {}
    seen: dict[tuple[str, str, str], int] = {}
    for path, kind, symbol, view in entries:
        n = seen[path, kind, symbol] = seen.get((path, kind, symbol), 0) + 1
        out[path, kind, symbol, n] = _LEVEL[view]
    return out


def _within(a: Selection, b: Selection) -> bool:
    """Every item of ``a`` is in ``b``, shown at least as fully."""
    return all(b.get(key, -1) >= level for key, level in a.items())


_MD_LABEL = re.compile(r"^(- )?L\d+(?:-\d+)? ([a-z]+)((?: .*)?)$")
_XML_ITEM = re.compile(
    r'<file path="([^"]*)">|<(chunk|mention) lines="[^"]*" kind="([a-z]+)"'
    r'(?: symbol="([^"]*)")?(?: view="([a-z]+)")?')
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)


def _parse_selection(data: bytes | None, fmt: str) -> Selection | None:
    """The choice an earlier snapshot made, read back from its text; None when there is
    none or the text is not one this renderer wrote (edited by hand, a merge conflict)."""
    if data is None:
        return None
    try:
        text = data.decode("utf-8").replace("\r\n", "\n")
        if fmt == "json":
            items = json.loads(text)["items"]
            return _selection((i["path"], i["kind"], i["symbol"], i["view"]) for i in items)
        if fmt == "xml":
            return _selection(_xml_entries(text))
        return _selection(_markdown_entries(text))
    except (ValueError, KeyError, TypeError):
        return None


def _markdown_entries(text: str) -> list[tuple[str, str, str, str]]:
    out = []
    path = None
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith("## "):
            path = line[3:]
            continue
        m = _MD_LABEL.match(line)
        if not m or path is None:
            continue
        rest, view = m[3], "full"
        for tag in ("skeleton", "mention"):
            if rest.endswith(f" ({tag})"):
                rest, view = rest[: -len(tag) - 3], tag
        if (view == "mention") != bool(m[1]):
            raise ValueError(f"not a label this renderer writes: {line!r}")
        out.append((path, m[2], rest[1:], view))
        if view != "mention":  # skip the fenced body: code may hold label-like lines
            fence = next(lines, "")
            run = len(fence) - len(fence.lstrip("`"))
            if run < 3:
                raise ValueError("a label without its fenced block")
            if not any(body == "`" * run for body in lines):
                raise ValueError("an unclosed fence")
    return out


def _xml_entries(text: str) -> list[tuple[str, str, str, str]]:
    out = []
    path = None
    for m in _XML_ITEM.finditer(_CDATA.sub("", text)):
        if m[1] is not None:
            path = html.unescape(m[1])
        elif path is not None:
            view = "mention" if m[2] == "mention" else (m[5] or "")
            out.append((path, m[3], html.unescape(m[4] or ""), view))
    return out


def _read(target: Path) -> bytes | None:
    try:
        return target.read_bytes()
    except OSError:
        return None  # missing or unreadable: written afresh (and a write failure says why)


def _same(old: bytes | None, data: bytes) -> bool:
    if old is None:
        return False
    # A checkout with core.autocrlf has CRLF line ends: the same snapshot, not a stale one.
    return old == data or old.replace(b"\r\n", b"\n") == data


def _refuse_sources(root: str, cfg: ProjectConfig, spec: SnapshotSpec, old: bytes) -> None:
    """An existing file that is no snapshot and would be a source (code, docs) is never
    overwritten: an output naming ``src/app.py`` must not replace it."""
    head = old.lstrip(b"\xef\xbb\xbf")[:200]
    if spec.format == "json":
        ours = head.lstrip().startswith(b"{") and b'"budget"' in head
    else:
        ours = head.startswith(b"# Context: " if spec.format == "markdown" else b"<context ")
    if ours:
        return
    found = scan(root, SourceOptions(include=cfg.include, exclude=cfg.exclude,
                                     redact_names=False))
    if any(f.path == spec.output for f in found.files):
        raise ConfigError(f"snapshot output {spec.output!r} is one of the sources, and not a "
                          "snapshot contextpack wrote; name another file, such as "
                          "'docs/CONTEXT.md'", spec.output)


def _write(target: Path, data: bytes, output: str) -> None:
    if target.is_dir():
        raise ConfigError(f"snapshot output {output!r} is a folder; name a file, such as "
                          f"'{output.rstrip('/')}/CONTEXT.md'", output)
    write_output(target, data)
