"""The machine contract: real packs checked key by key against ``contextpack.contract``.

The JSON document and ``Pack.stats`` must hold exactly the keys their ``TypedDict``s
declare (required ones always, optional ones only where declared), each of the declared
type, all the way down. A key added, renamed or retyped fails here: change the contract
on purpose, in ``contract.py``, or not at all.
"""

from __future__ import annotations

import json
import random
import shutil
import string
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from contextpack.api import Packer, Settings
from contextpack.contract import JsonPack, PackStats
from contextpack.session import Session

from .conftest import FIXTURES


def conforms(value: Any, tp: Any, where: str = "$") -> list[str]:
    """Where ``value`` departs from the type ``tp`` (empty: it conforms)."""
    origin = get_origin(tp)
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        hints = get_type_hints(tp)
        keys = set(value)
        problems = [f"{where}: missing {k!r}" for k in sorted(tp.__required_keys__ - keys)]
        problems += [f"{where}: extra {k!r}" for k in sorted(keys - set(hints))]
        for k in sorted(keys & set(hints)):
            problems += conforms(value[k], hints[k], f"{where}.{k}")
        return problems
    if origin in (Union, types.UnionType):
        arms = [conforms(value, arm, where) for arm in get_args(tp)]
        return [] if any(not a for a in arms) else min(arms, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        return [p for k, v in enumerate(value) for p in conforms(v, get_args(tp)[0],
                                                                   f"{where}[{k}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        key_type, value_type = get_args(tp)
        return [p for k, v in value.items()
                for p in conforms(k, key_type, where) + conforms(v, value_type, f"{where}.{k}")]
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{where}: {value!r} not in {get_args(tp)}"]
    if tp is type(None):
        return [] if value is None else [f"{where}: {value!r}, not null"]
    if tp is float:  # JSON writes 2.0 as 2.0, but a float field may hold a whole number
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r}, not a number"]
    if tp in (int, str, bool):
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return [] if ok else [f"{where}: {value!r}, not {tp.__name__}"]
    raise TypeError(f"{where}: the checker does not know {tp!r}; teach it")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny fixture, with a secret (generated here: nothing key-like is committed)
    and a file skipped before ranking."""
    dest = tmp_path_factory.mktemp("contract") / "repo"
    shutil.copytree(FIXTURES / "breadth" / "tiny", dest)
    rng = random.Random(23)
    token = "ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    (dest / "settings.py").write_text(f'GITHUB_TOKEN = "{token}"\n\n\ndef retry_limit():\n'
                                      "    return 3\n")
    (dest / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return dest


def _packs(repo: Path) -> list[tuple[str, Any]]:
    """Packs that between them fill every optional part of the contract."""
    plain = Packer(repo, Settings(use_cache=False, encoding="cl100k_base"))
    priced = Packer(repo, Settings(use_cache=False, model="gpt-4o"))
    session = Session()
    plain.pack("retry with backoff", 150, "json", session=session)
    return [
        ("plain", plain.pack("retry with backoff", 180, "json")),
        ("structure", plain.pack("", 250, "json")),
        ("session", plain.pack("retry limit", 400, "json", session=session)),
        ("priced", priced.pack("retry with backoff", 2000, "json", reserve=500)),
    ]


def test_rendered_json_packs_match_the_contract(repo: Path) -> None:
    seen: set[str] = set()
    for name, pack in _packs(repo):
        doc = json.loads(pack.text)
        assert conforms(doc, JsonPack) == [], name
        assert conforms(pack.stats, PackStats) == [], name
        seen |= set(doc) | {f"stats.{k}" for k in doc["stats"]}
        seen |= {"redactions"} if doc["stats"]["redactions"] else set()
        seen |= {"skipped"} if doc["skipped"] else set()
    # every optional part was there in one pack at least, so it was checked too
    assert {"already_in_context", "stats.window", "stats.cost", "redactions",
            "skipped"} <= seen


def test_the_checker_fails_on_extra_missing_and_mistyped_keys(repo: Path) -> None:
    doc = json.loads(Packer(repo, Settings(use_cache=False)).pack("retry", 300, "json").text)
    assert conforms(doc, JsonPack) == []
    assert conforms({**doc, "extra": 1}, JsonPack) == ["$: extra 'extra'"]
    assert conforms({k: v for k, v in doc.items() if k != "tokens"}, JsonPack) == [
        "$: missing 'tokens'"]
    bad = {**doc, "items": [{**doc["items"][0], "start_line": "1"}]}
    assert conforms(bad, JsonPack) == ["$.items[0].start_line: '1', not int"]
    bad = {**doc, "stats": {**doc["stats"], "items": {"full": 1, "skeleton": 0}}}
    assert conforms(bad, JsonPack) == ["$.stats.items: missing 'mention'"]
    bad = {**doc, "stats": {**doc["stats"], "seconds": {"rank": 0.1, "pack": 0.1}}}
    assert conforms(bad, JsonPack) == ["$.stats: extra 'seconds'"]  # timings stay out
