"""An optional JSONL log of token spend: one line per pack, for users who monitor it.

The log holds a hash of the query, never its text, and lives apart from the pack (whose
JSON output must stay byte-identical across runs: the time belongs here). Each line is
appended with a single ``write`` on a file opened with ``O_APPEND``, so lines from
concurrent processes never interleave on a local file system.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from typing import Any

from .errors import ConfigError

#: The environment variable naming a usage log when none is passed.
USAGE_LOG_ENV = "CONTEXTPACK_USAGE_LOG"


def usage_log_path(explicit: str | os.PathLike[str] | None) -> str | None:
    """The log to append to: the one passed, else ``$CONTEXTPACK_USAGE_LOG``, else none."""
    if explicit:
        return os.fspath(explicit)
    return os.environ.get(USAGE_LOG_ENV) or None


def query_hash(query: str) -> str:
    """A stable digest of the query (SHA-256, hex, 16 chars): lines about the same query
    can be grouped without the log holding what was asked."""
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def usage_record(
    *,
    query: str,
    budget: int,
    tokens: int,
    source_tokens: int,
    sources: Sequence[str],
    documents: int,
    encoding: str,
    model: str | None,
    reserve_output_tokens: int = 0,
    kind: str = "pack",
    cost_usd: float | None = None,
) -> dict[str, Any]:
    """One line of the log, as a dict."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kind": kind,
        "query_sha256": query_hash(query),
        "budget": budget,
        "reserve_output_tokens": reserve_output_tokens,
        "tokens": tokens,
        "source_tokens": source_tokens,
        "sources": list(sources),
        "documents": documents,
        "encoding": encoding,
        "model": model,
        "cost_usd": cost_usd,
    }


def append_usage(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``path`` (created if missing)."""
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    try:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            while written < len(line):  # rare short write (full disk, signals)
                written += os.write(fd, line[written:])
        finally:
            os.close(fd)
    except OSError as exc:
        raise ConfigError(
            f"cannot append to the usage log {os.fspath(path)!r}: {exc.strerror or exc}; "
            f"pass a writable file, or unset {USAGE_LOG_ENV}",
            os.fspath(path),
        ) from exc
