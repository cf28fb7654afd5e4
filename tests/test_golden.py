"""Golden files: rendered packs, byte for byte, in every format.

Each case packs a small fixture with a fixed query, budget, tokenizer (cl100k_base) and
embedder (static), and compares the text with ``tests/golden/<case>.<ext>``. Any change in
output, wanted or not, shows as a failing test and, once regenerated, as a diff to review.

To regenerate after an intended change, run
``CONTEXTPACK_UPDATE_GOLDEN=1 python -m pytest -q tests/test_golden.py`` and read the diff
before committing it. The cases cover a query pack where everything fits (whole-file
blocks), a pack with no query (ranked by structure), packs shrunk to skeletons and
mentions with chunks left out, files skipped before ranking, and chunks left out because
a session already holds them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contextpack.api import Packer, Settings
from contextpack.session import Session
from contextpack.types import Pack

from .conftest import FIXTURES

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("CONTEXTPACK_UPDATE_GOLDEN") == "1"
TINY = FIXTURES / "breadth" / "tiny"  # python, javascript and markdown
TSPKG = FIXTURES / "breadth" / "tspkg"  # typescript, with build output and vendored code
SETTINGS = Settings(use_cache=False, encoding="cl100k_base", embedder="static")
EXTENSIONS = {"markdown": "md", "xml": "xml", "json": "json"}

# name: (fixture, query, budget); budgets small enough to shrink are chosen to do so
CASES = {
    "everything": (TINY, "retry with backoff", 2000),
    "structure": (TINY, "", 250),
    "shrunk": (TINY, "retry with backoff", 200),
    "skipped": (TSPKG, "pad a string", 300),
}


@pytest.fixture(scope="module")
def packers() -> dict[Path, Packer]:
    return {root: Packer(root, SETTINGS) for root in (TINY, TSPKG)}


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing; run with CONTEXTPACK_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    # a plain == first: pytest's diff of two long strings names the first differing line
    assert text == expected, f"{name} differs from its golden file"


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
@pytest.mark.parametrize("case", list(CASES))
def test_rendered_pack_matches_its_golden_file(packers: dict[Path, Packer], case: str,
                                               fmt: str) -> None:
    root, query, budget = CASES[case]
    pack = packers[root].pack(query, budget, fmt)
    _check(f"{case}.{EXTENSIONS[fmt]}", pack.text)


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
def test_pack_after_a_session_matches_its_golden_file(packers: dict[Path, Packer],
                                                      fmt: str) -> None:
    session = Session()
    packer = packers[TINY]
    packer.pack("retry with backoff", 250, fmt, session=session)
    second: Pack = packer.pack("retry after header", 300, fmt, session=session)
    assert second.already_sent, "the case must leave out chunks the session holds"
    _check(f"session.{EXTENSIONS[fmt]}", second.text)


def test_golden_cases_cover_what_they_claim(packers: dict[Path, Packer]) -> None:
    """The cases still exercise the paths they are named for (fixtures may change)."""
    views = {i.view for i in packers[TINY].pack("retry with backoff", 200).items}
    assert {"skeleton", "mention"} <= views
    assert packers[TINY].pack("", 250).stats["ranking"] == "structure"
    assert packers[TINY].pack("", 250).dropped
    assert packers[TSPKG].pack("pad a string", 300).skipped
    whole = packers[TINY].pack("retry with backoff", 2000).items
    assert all(i.metadata.get("whole_file") for i in whole)
