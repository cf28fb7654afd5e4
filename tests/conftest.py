"""Shared fixtures. Tests use the real grammars, tokenizer, model and faiss."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The key that signs caches: one per test session, never the user's own.
os.environ.setdefault("CONTEXTPACK_KEY_FILE",
                      os.path.join(tempfile.mkdtemp(prefix="contextpack-key-"), "cache.key"))

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LANGUAGES = FIXTURES / "languages"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A writable copy of the language fixtures, as a small repository."""
    dest = tmp_path / "repo"
    shutil.copytree(LANGUAGES, dest, ignore=shutil.ignore_patterns(".contextpack"))
    return dest


@pytest.fixture(scope="session")
def session_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the fixtures shared by read-only tests (its index is built once)."""
    dest = tmp_path_factory.mktemp("shared") / "repo"
    shutil.copytree(LANGUAGES, dest, ignore=shutil.ignore_patterns(".contextpack"))
    return dest
