"""The breadth bench's runner (bench/breadth.py) on a tiny local corpus: real contextpack CLI
and API, real BM25 baseline, scoring shared with the relevance bench."""

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import breadth  # noqa: E402
import breadth_fetch  # noqa: E402
import relevance  # noqa: E402

FIX = ROOT / "fixtures" / "breadth"


def item(start, end, view="full", path="retry.py"):
    return [path, start, end, view]


def test_score_counts_full_for_in_full_and_skeleton_for_seen():
    q = {"gold": [{"path": "retry.py", "start": 6, "end": 8}]}
    assert breadth.score([item(1, 8)], q)["gold_full"] == 1.0
    assert breadth.score([item(7, 8)], q) == {"gold_full": 1.0, "gold_seen": 0.0,
                                               "file_found": 1.0, "text_full": None,
                                               "strict_full": 1.0}
    assert breadth.score([item(6, 6)], q)["gold_full"] == 0.0  # 1 of 3 lines: under half
    s = breadth.score([item(6, 8, "skeleton")], q)
    assert (s["gold_full"], s["gold_seen"]) == (0.0, 1.0)
    assert breadth.score([item(6, 8, "mention")], q)["file_found"] == 0.0
    assert breadth.score([item(6, 8, path="other.py")], q)["gold_seen"] == 0.0


def test_two_gold_spans_score_half_each():
    q = {"gold": [{"path": "a.py", "start": 1, "end": 4}, {"path": "b.py", "start": 10, "end": 11}]}
    s = breadth.score([["a.py", 1, 4, "full"]], q)
    assert (s["gold_full"], s["file_found"]) == (0.5, 0.5)


def test_an_alternative_span_counts_but_not_for_strict():
    q = {"gold": [{"path": "parser.rs", "start": 10, "end": 20,
                   "alt": [{"path": "arg.rs", "start": 1, "end": 4}]}]}
    s = breadth.score([["arg.rs", 1, 4, "full"]], q)
    assert (s["gold_full"], s["gold_seen"], s["file_found"], s["strict_full"]) == (1, 1, 1, 0)
    assert breadth.score([["parser.rs", 10, 20, "full"]], q)["strict_full"] == 1.0
    bad = {"name": "x", "source": {"kind": "local", "path": "x"}, "kind": "code",
           "split": "tune", "questions": [{**q, "id": "x-1", "question": "?", "language": "rust",
                                           "style": "plain", "budget": 3000}]}
    bad["questions"][0]["gold"][0]["alt"][0]["start"] = 0
    assert "bad span arg.rs:0-4" in " ".join(breadth.check_project(bad))


def test_answer_text_counts_a_copy_in_another_file():
    src = "def settle(resolve, reject, response):\n    if response.ok:\n        resolve(response)\n"
    bundle = "// bundle\n" + src.replace("def settle", "def settle_")  # a twin, 2 of 3 lines
    files = {"lib/settle.py": src, "dist/bundle.py": bundle, "other.py": "x = 1\n"}
    q = {"gold": [{"path": "lib/settle.py", "start": 1, "end": 3}]}
    s = breadth.score([["dist/bundle.py", 1, 4, "full"]], q, files)
    assert (s["gold_full"], s["text_full"]) == (0.0, 1.0)
    assert breadth.score([["dist/bundle.py", 1, 4, "skeleton"]], q, files)["text_full"] == 0.0
    assert breadth.score([["other.py", 1, 1, "full"]], q, files)["text_full"] == 0.0


def test_check_project_rejects_malformed_questions():
    good = json.loads((FIX / "projects" / "tiny.json").read_text())
    assert breadth.check_project(good) == []
    bad = json.loads(json.dumps(good))
    bad["split"] = "train"
    bad["questions"][0]["budget"] = 100_000
    bad["questions"][1]["style"] = "vague"
    bad["questions"][1]["gold"] = []
    problems = " | ".join(breadth.check_project(bad))
    for word in ("split", "budget", "style", "0 gold spans"):
        assert word in problems


def test_committed_projects_are_well_formed_and_meet_the_counts():
    projects = breadth.load_projects([ROOT / "bench" / "breadth" / "projects"])
    assert len(projects) >= 9
    qs = [q for p in projects for q in p["questions"]]
    for p in projects:
        assert breadth.check_project(p) == [], p["name"]
        assert p["source"]["kind"] in ("npm", "pypi", "debian")
    ids = [q["id"] for q in qs]
    assert len(ids) == len(set(ids))
    by_lang = Counter(q["language"] for q in qs)
    for lang in ("python", "javascript", "typescript", "go", "rust"):
        assert by_lang[lang] >= 10, lang
    kinds = Counter(p["kind"] for p in projects for _ in p["questions"])
    assert kinds["prose"] >= 20 and kinds["documents"] >= 10
    assert sum(q["style"] == "plain" for q in qs) >= 0.4 * len(qs)
    assert all(q["checked"].startswith("second reader:") for q in qs)


def test_question_key_changes_with_the_question_text():
    p = json.loads((FIX / "projects" / "tiny.json").read_text())
    q = dict(p["questions"][0])
    k1 = breadth.question_key(p, q)
    q["question"] += "?"
    assert breadth.question_key(p, q) != k1
    assert k1.startswith("tiny-01#")


def test_local_fetch_and_subdir(tmp_path):
    p = json.loads((FIX / "projects" / "tinydocs.json").read_text())
    root = breadth_fetch.fetch(p, tmp_path)
    assert root == (FIX / "tiny" / "docs").resolve()
    assert [path for path, _ in breadth.project_files(p, root)] == ["faq.md", "install.md"]
    p["subdir"] = "missing"
    with pytest.raises(RuntimeError, match="subdir"):
        breadth_fetch.fetch(p, tmp_path)


def test_contract_check_flags_an_over_budget_pack():
    data = {"budget": 5, "tokens": 3, "context": "one two three four five six seven",
            "items": [{"path": "a", "start_line": 1, "end_line": 1, "view": "folded"}]}
    _, _, viol = relevance.check_contract(data, 5)
    text = " | ".join(viol)
    assert "re-counts" in text and "unknown view" in text


def test_runner_on_the_tiny_corpus(tmp_path):
    """The whole pipeline: fetch (local), contextpack CLI (code) and API (documents), BM25,
    scoring, report, and a rerun served from the result cache."""
    out = tmp_path / "out"
    argv = ["--projects-dir", str(FIX / "projects"), "--packers", "contextpack,bm25-chunks",
            "--cache", str(tmp_path / "cache"), "--out", str(out)]
    breadth.main(argv)
    lines = (out / "breadth_raw.jsonl").read_text().splitlines()
    meta, recs = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert meta["type"] == "meta" and meta["packers"] == ["contextpack", "bm25-chunks"]
    assert len(recs) == 6  # 3 questions x 2 packers
    assert not [r for r in recs if r["error"] or r["violations"]]
    by = {(r["packer"], r["qid"]): r for r in recs}
    for packer in ("contextpack", "bm25-chunks"):
        # an identifier question and a plain one with the answer's words: both must land
        assert by[(packer, "tiny-01")]["scores"]["gold_full"] == 1.0, packer
        assert by[(packer, "tinydocs-01")]["scores"]["gold_seen"] == 1.0, packer
    docs = by[("contextpack", "tinydocs-01")]
    assert {i[0] for i in docs["items"]} <= {"faq.md", "install.md"}  # ids, not file paths
    assert all(r["tokens"] <= r["budget"] for r in recs)
    md = (out / "breadth.md").read_text()
    assert "2 projects, 3 questions, 2 plain English" in md
    assert "**Budget check**: 6 packs, 0 over budget" in md
    for section in ("Per language", "Per style", "Per corpus kind", "Per split"):
        assert section in md
    if (out / "breadth.png").exists():
        assert (out / "breadth.png").stat().st_size > 1000
    cached = (tmp_path / "cache" / "results" / "contextpack.jsonl").read_text().splitlines()
    breadth.main(argv)  # every pack comes from the result cache: nothing appended
    again = (tmp_path / "cache" / "results" / "contextpack.jsonl").read_text().splitlines()
    assert again == cached
