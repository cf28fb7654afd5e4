"""The relevance bench's scorer (bench/scoring.py) on a tiny synthetic instance."""

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import scoring  # noqa: E402

FIX = ROOT / "fixtures" / "bench"
CORPUS = FIX / "corpus"
PATH = "pkg/mod.py"


@pytest.fixture(scope="module")
def row():
    lines = (FIX / "instance.jsonl").read_text().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def single(row, qualname="Foo.bar"):
    r = copy.deepcopy(row)
    r["gold_functions"] = [g for g in r["gold_functions"] if g["qualname"] == qualname]
    return scoring.gold_targets(r, CORPUS)


def item(start, end, view="full", path=PATH):
    return {"path": path, "start_line": start, "end_line": end, "view": view}


def scores(items, targets):
    s = scoring.score_pack(items, targets)
    return s["file_recall"], s["func_seen"], s["func_body"]


def test_targets_located_with_ast(row):
    t = scoring.gold_targets(row, CORPUS)
    assert t["files"] == [PATH] and not t["problems"]
    spans = {f["qualname"]: f["spans"] for f in t["functions"]}
    # [first line incl. decorators, def line, last line] in the corpus file
    assert spans == {"Foo.bar": [[12, 12, 20]], "helper": [[26, 27, 29]]}


def test_skeleton_only_counts_as_seen_not_body(row):
    t = single(row)
    assert scores([item(7, 23, "skeleton")], t) == (1.0, 1.0, 0.0)


def test_mention_counts_for_nothing(row):
    t = single(row)
    assert scores([item(1, 30, "mention")], t) == (0.0, 0.0, 0.0)
    assert scores([], t) == (0.0, 0.0, 0.0)


def test_full_body_needs_half_of_the_lines(row):
    t = single(row)  # Foo.bar: lines 12-20, 9 lines
    assert scores([item(12, 15)], t) == (1.0, 1.0, 0.0)  # 4 of 9
    assert scores([item(12, 16)], t) == (1.0, 1.0, 1.0)  # 5 of 9
    # body without the def line: body met, not "seen"
    assert scores([item(14, 20)], t) == (1.0, 0.0, 1.0)
    # two full items together cover half (overlap counted once); skeleton adds no body
    assert scores([item(12, 14), item(13, 16)], t) == (1.0, 1.0, 1.0)
    assert scores([item(12, 14), item(15, 20, "skeleton")], t) == (1.0, 1.0, 0.0)


def test_other_file_does_not_count(row):
    t = single(row)
    assert scores([item(12, 20, path="pkg/other.py")], t) == (0.0, 0.0, 0.0)
    assert scores([item(12, 20, path="./pkg/mod.py")], t) == (1.0, 1.0, 1.0)


def test_multi_function_instance_is_fraction_of_functions(row):
    t = scoring.gold_targets(row, CORPUS)
    assert scores([item(12, 20)], t) == (1.0, 0.5, 0.5)
    assert scores([item(12, 20), item(26, 29, "skeleton")], t) == (1.0, 1.0, 0.5)
    assert scores([item(10, 30)], t) == (1.0, 1.0, 1.0)
    # decorator line only: helper's def line (27) is not shown
    assert scores([item(26, 26), item(12, 20)], t) == (1.0, 0.5, 0.5)
    assert scoring.mean([1.0, 0.5, None]) == 0.75


def test_module_entries(row):
    r = copy.deepcopy(row)
    r["gold_functions"].append({"file": PATH, "qualname": "<module>"})
    t = scoring.gold_targets(r, CORPUS)
    assert t["module_dropped"] == 1
    assert [f["qualname"] for f in t["functions"]] == ["Foo.bar", "helper"]
    # module-only instance: scored on its module-level changed line(s) in the corpus file
    r["gold_functions"] = [{"file": PATH, "qualname": "<module>"}]
    r["patch"] = (
        "diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n"
        "@@ -3,3 +3,3 @@ import functools\n \n-LIMIT = 10\n+LIMIT = 11\n \n"
    )
    t = scoring.gold_targets(r, CORPUS)
    assert t["module_only"]
    assert t["functions"] == [{"file": PATH, "qualname": "<module>", "lines": [4]}]
    assert scores([item(1, 5)], t) == (1.0, 1.0, 1.0)
    assert scores([item(1, 5, "skeleton")], t) == (1.0, 1.0, 0.0)
    assert scores([item(7, 30)], t) == (1.0, 0.0, 0.0)


def test_missing_function_is_reported_not_scored(row):
    r = copy.deepcopy(row)
    r["gold_functions"] = [{"file": PATH, "qualname": "Foo.nope"}]
    t = scoring.gold_targets(r, CORPUS)
    assert t["functions"] == [] and t["problems"]
    s = scoring.score_pack([item(1, 30)], t)
    assert s["file_recall"] == 1.0 and s["func_seen"] is None and s["func_body"] is None


def test_carry_over_takes_baseline_rows_only(tmp_path):
    import relevance

    raw = tmp_path / "raw.jsonl"
    meta = {"type": "meta", "commit": "abc1234", "date": "2026-11-28 15:21"}
    row_of = {"instance_id": "i1", "repo": "r", "budget": 8000, "key": "k",
              "scores": {"file_recall": 1.0, "func_seen": 1.0, "func_body": 0.0}, "n_items": 3}
    rows = [meta, {**row_of, "packer": "dense"}, {**row_of, "packer": "contextpack"},
            {**row_of, "packer": "bm25-files"}]
    raw.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    got = relevance.load_carried(raw, ["dense", "contextpack"])
    assert set(got) == {("dense", "i1", 8000)}  # never contextpack, only packers asked for
    assert got[("dense", "i1", 8000)]["carried"] == "raw.jsonl of commit abc1234, 2026-11-28 15:21"
    assert relevance.load_carried(None, ["dense"]) == {}
