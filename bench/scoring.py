"""Scoring of a pack against SWE-bench Lite gold locations (standard library only).

A pack is a list of items ``{"path", "start_line", "end_line", "view"}`` (1-based,
inclusive; view in full / skeleton / mention).  Per instance:

* file recall   -- fraction of the gold files with a full or skeleton item from them;
* function seen -- fraction of the gold functions whose ``def``/``class`` line lies inside a
  full or skeleton item of the gold file;
* function body -- fraction of the gold functions of which at least half of the lines
  (decorators to last line, ``ast`` span) lie inside full-view items.

A ``mention`` item counts for nothing.  Gold function spans are located with ``ast`` in the
reverted (pre-fix) corpus file by qualified name (``Class.method``), never with base_commit
line numbers.  When a qualname occurs more than once in a file (e.g. defined in both branches
of an ``if``), the function counts as met if any occurrence is met.

``<module>`` gold entries (module-level lines, mostly import edits): when the instance has
at least one real gold function they are left out of the function metrics; when the
instance's only gold entries are ``<module>`` ones, each is scored on the module-level
changed lines of its hunks located in the reverted file (seen: one of those lines inside a
full/skeleton item; body: at least half of them inside full items).

Instance scores are averaged over instances (each instance weighs 1, whatever its number of
gold functions).  Instances without a locatable function target get ``None`` for the two
function metrics and are left out of those averages.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

CODE_VIEWS = ("full", "skeleton")
METRICS = ("file_recall", "func_seen", "func_body")


# ---------------------------------------------------------------- scopes
def scopes_ast(src: str) -> list[dict]:
    """def/class scopes of a module: qualname, start (first decorator), def_line, end."""
    tree = ast.parse(src)
    out: list[dict] = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                q = prefix + child.name
                out.append(
                    {
                        "start": start,
                        "def_line": child.lineno,
                        "end": child.end_lineno,
                        "qualname": q,
                    }
                )
                visit(child, q + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def default_get_scopes(src: str):
    return scopes_ast(src), "ast"


# ---------------------------------------------------------------- patch (old side only)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def patch_hunks(patch: str) -> dict[str, list[dict]]:
    """{old_path: [{"old_start", "lines": [(tag, text)]}]} of a unified diff."""
    out: dict[str, list[dict]] = {}
    lines = patch.split("\n")
    cur = None
    i = 0
    while i < len(lines):
        ln = lines[i]
        m = re.match(r"^diff --git a/(\S+) b/", ln)
        if m:
            cur = out.setdefault(m.group(1), [])
        else:
            h = _HUNK.match(ln)
            if h and cur is not None:
                o = int(h.group(2)) if h.group(2) is not None else 1
                n = int(h.group(4)) if h.group(4) is not None else 1
                hunk = {"old_start": int(h.group(1)), "lines": []}
                i += 1
                while i < len(lines) and (o > 0 or n > 0):
                    b = lines[i]
                    i += 1
                    if b.startswith("\\"):
                        continue
                    tag, text = (b[:1] or " "), b[1:]
                    o -= tag in " -"
                    n -= tag in " +"
                    hunk["lines"].append((tag, text))
                cur.append(hunk)
                continue
        i += 1
    return out


def _locate_hunk(file_lines: list[str], hunk: dict) -> tuple[list[int], list[int]] | None:
    """Line numbers, in `file_lines`, of the hunk's removed lines and insertion anchors
    (the line before each insertion), found by matching the pre-fix block (with up to 2
    context lines trimmed at each end, like the revert script)."""
    hl = hunk["lines"]
    for fuzz in (0, 1, 2):
        lead = 0
        body = list(hl)
        while lead < fuzz and body and body[0][0] == " ":
            body.pop(0)
            lead += 1
        k = 0
        while k < fuzz and body and body[-1][0] == " ":
            body.pop()
            k += 1
        old = [t for tag, t in body if tag != "+"]
        if not old:
            continue
        hits = [
            i + 1
            for i in range(len(file_lines) - len(old) + 1)
            if file_lines[i : i + len(old)] == old
        ]
        if not hits or (fuzz and len(hits) > 1):
            continue
        hint = hunk["old_start"] + lead
        pos = min(hits, key=lambda s: abs(s - hint))
        removed, anchors = [], []
        o = pos
        prev = None
        for tag, _ in body:
            if tag == "-":
                removed.append(o)
                o += 1
            elif tag == " ":
                o += 1
            elif tag == "+" and prev != "-" and prev != "+":
                anchors.append(max(o - 1, 1))
            prev = tag
        return removed, anchors
    return None


# ---------------------------------------------------------------- gold targets
def gold_targets(row: dict, root: str | os.PathLike, get_scopes=None) -> dict:
    """Gold files and function spans of an instance, located in its reverted corpus."""
    get_scopes = get_scopes or default_get_scopes
    root = Path(root)
    files = list(row.get("gold_files") or [])
    funcs = list(row.get("gold_functions") or [])
    real = [g for g in funcs if g["qualname"] != "<module>"]
    module_only = not real and bool(funcs)
    targets: list[dict] = []
    problems: list[str] = []
    dropped_module = 0 if module_only else sum(g["qualname"] == "<module>" for g in funcs)
    srcs: dict[str, str | None] = {}
    scopes_cache: dict[str, list[dict]] = {}

    def src_of(path):
        if path not in srcs:
            fp = root / path
            srcs[path] = (
                fp.read_text(encoding="utf-8", errors="surrogateescape") if fp.is_file() else None
            )
        return srcs[path]

    def scopes_of(path):
        if path not in scopes_cache:
            s = src_of(path)
            scopes_cache[path] = get_scopes(s)[0] if s is not None else []
        return scopes_cache[path]

    hunks = patch_hunks(row.get("patch", "")) if module_only else {}
    for g in funcs if module_only else real:
        path, q = g["file"], g["qualname"]
        src = src_of(path)
        if src is None:
            problems.append(f"{path}: missing in corpus")
            continue
        if q != "<module>":
            spans = [s for s in scopes_of(path) if s["qualname"] == q]
            if not spans:
                problems.append(f"{path}::{q}: not found with ast")
                continue
            targets.append(
                {
                    "file": path,
                    "qualname": q,
                    "spans": [[s["start"], s["def_line"], s["end"]] for s in spans],
                }
            )
            continue
        file_lines = src.split("\n")
        scopes = scopes_of(path)
        lines: list[int] = []
        for h in hunks.get(path, []):
            loc = _locate_hunk(file_lines, h)
            if loc is None:
                problems.append(f"{path}: hunk @{h['old_start']} not located")
                continue
            removed, anchors = loc
            cand = removed or anchors
            lines += [ln for ln in cand if not any(s["start"] <= ln <= s["end"] for s in scopes)]
        lines = sorted(set(lines))
        if not lines:
            problems.append(f"{path}::<module>: no module-level changed line located")
            continue
        targets.append({"file": path, "qualname": "<module>", "lines": lines})
    return {
        "files": files,
        "functions": targets,
        "problems": problems,
        "module_dropped": dropped_module,
        "module_only": module_only,
    }


# ---------------------------------------------------------------- scoring
def _norm(p: str) -> str:
    p = p.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def _covered(intervals: list[tuple[int, int]], line: int) -> bool:
    return any(a <= line <= b for a, b in intervals)


def _count_covered(intervals: list[tuple[int, int]], a: int, b: int) -> int:
    lines = set()
    for s, e in intervals:
        lo, hi = max(s, a), min(e, b)
        if lo <= hi:
            lines.update(range(lo, hi + 1))
    return len(lines)


def score_pack(items: list[dict], targets: dict) -> dict:
    """Three metrics for one pack; items need path, start_line, end_line, view."""
    code: dict[str, list[tuple[int, int]]] = {}
    full: dict[str, list[tuple[int, int]]] = {}
    for it in items:
        view = it.get("view", "full")
        if view not in CODE_VIEWS:
            continue
        p = _norm(it["path"])
        iv = (int(it["start_line"]), int(it["end_line"]))
        code.setdefault(p, []).append(iv)
        if view == "full":
            full.setdefault(p, []).append(iv)
    files = targets["files"]
    file_recall = (sum(1 for f in files if code.get(f)) / len(files)) if files else None
    seen, body, detail = [], [], []
    for t in targets["functions"]:
        c, fu = code.get(t["file"], []), full.get(t["file"], [])
        if "spans" in t:
            s_ok = any(_covered(c, d) for _, d, _ in t["spans"])
            b_ok = any(2 * _count_covered(fu, a, e) >= (e - a + 1) for a, _, e in t["spans"])
        else:  # <module> target: its changed lines
            ls = t["lines"]
            s_ok = any(_covered(c, ln) for ln in ls)
            b_ok = 2 * sum(_covered(fu, ln) for ln in ls) >= len(ls)
        seen.append(s_ok)
        body.append(b_ok)
        detail.append({"qualname": t["qualname"], "seen": s_ok, "body": b_ok})
    n = len(targets["functions"])
    return {
        "file_recall": file_recall,
        "func_seen": (sum(seen) / n) if n else None,
        "func_body": (sum(body) / n) if n else None,
        "functions": detail,
    }


def mean(xs):
    xs = [x for x in xs if x is not None]
    return (sum(xs) / len(xs)) if xs else None
