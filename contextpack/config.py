"""Project configuration: ``[tool.contextpack]`` in ``pyproject.toml`` or ``.contextpack.toml``.

The ``snapshot`` command reads all of it; ``build`` and ``models`` read the models it
declares. Example (in ``.contextpack.toml`` the keys sit at the top level, without the
``[tool.contextpack]`` header)::

    [tool.contextpack]
    budget = 16000                      # tokens, for every snapshot that sets none
    encoding = "cl100k_base"
    format = "markdown"                 # markdown | xml | json
    output = "docs/CONTEXT.md"          # the repository map (no query)
    include = ["src/", "*.md"]
    exclude = ["tests/"]

    [[tool.contextpack.queries]]        # standing queries, one file each
    query = "public API"
    output = "docs/context/public-api.md"
    budget = 6000

    [tool.contextpack.weights]          # ranking weights (rank.Weights), rarely needed
    graph = 0.5

    [tool.contextpack.models."my-model"]  # add or override a model (models.py)
    window = 262144
    price = [{up_to = 200000, usd = 1.0}, {usd = 2.0}]

A key the schema does not know is an error naming the file and the key, never ignored:
a typo would otherwise silently change what a team commits.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .models import Model, ModelTable, default_table, model_from_table
from .render import FORMATS, RENDERERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CONFIG_FILE = ".contextpack.toml"
PYPROJECT = "pyproject.toml"
#: A snapshot's budget when its configuration sets none (a committed map: larger than
#: models.DEFAULT_BUDGET, the budget of a one-off pack).
SNAPSHOT_BUDGET = 16000
DEFAULT_OUTPUT_STEM = ".contextpack/snapshot"

_TOP_KEYS = ("budget", "embedder", "encoding", "exclude", "format", "include", "map",
             "max-file-size", "models", "output", "queries", "redact", "weights")
_QUERY_KEYS = ("budget", "format", "output", "query")


@dataclass(frozen=True, slots=True)
class SnapshotSpec:
    """One snapshot file: what to ask (empty: the repository map), its budget and format.

    ``output`` is relative to the root, with POSIX separators.
    """

    output: str
    query: str = ""
    budget: int = SNAPSHOT_BUDGET
    format: str = "markdown"


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """The snapshots to write and the options shared by all of them.

    ``source`` names the file the configuration came from ("" for the defaults).
    """

    snapshots: tuple[SnapshotSpec, ...]
    source: str = ""
    encoding: str | None = None
    embedder: str = "none"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_bytes: int | None = None
    redact: bool = True
    weights: tuple[tuple[str, float], ...] = ()  # overrides of rank.Weights
    models: tuple[Model, ...] = ()  # declared or overridden in [tool.contextpack.models]


def default_output(fmt: str) -> str:
    """Where a repository map goes when the configuration names no output."""
    return DEFAULT_OUTPUT_STEM + RENDERERS[fmt].extension


def find_config(root: str | os.PathLike[str]) -> tuple[Path, Mapping[str, Any]] | None:
    """The configuration file under ``root`` and its contextpack table, or None.

    ``.contextpack.toml`` wins over ``pyproject.toml``; a ``pyproject.toml`` without a
    ``[tool.contextpack]`` table is no configuration.
    """
    root = Path(root)
    own = root / CONFIG_FILE
    if own.is_file():
        return own, _read_toml(own)
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool", {})
        table = tool.get("contextpack") if isinstance(tool, dict) else None
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError(f"{pyproject}: [tool.contextpack] must be a table, not "
                                  f"{_kind(table)}", table)
            return pyproject, table
    return None


def load_config(root: str | os.PathLike[str], path: str | os.PathLike[str] | None = None
                ) -> ProjectConfig:
    """The project's configuration: ``path`` if given, else the one found under ``root``,
    else the default (a repository map in ``.contextpack/snapshot.md``, 16000 tokens)."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"configuration file {str(path)!r} does not exist", str(path))
        data = _read_toml(path)
        if path.name == PYPROJECT:
            tool = data.get("tool", {})
            data = tool.get("contextpack", {}) if isinstance(tool, dict) else {}
        return parse_config(data, str(path))
    found = find_config(root)
    if found is None:
        return ProjectConfig((SnapshotSpec(default_output("markdown")),))
    file, table = found
    return parse_config(table, str(file))


def parse_config(table: Mapping[str, Any], source: str) -> ProjectConfig:
    """Validate a contextpack table; ``source`` names its file in every error."""
    # Its home imports numpy: only parsing a configuration pays for it, never `models`.
    from .embed import EMBEDDERS

    where = (f"{source} [tool.contextpack]" if source.endswith(PYPROJECT) else source)
    _check_keys(table, _TOP_KEYS, where)
    budget = _budget(table.get("budget", SNAPSHOT_BUDGET), where, "budget")
    fmt = _choice(table.get("format", "markdown"), FORMATS, where, "format")
    snapshots: list[SnapshotSpec] = []
    if _bool(table.get("map", True), where, "map"):
        output = _output(table.get("output", default_output(fmt)), where, "output")
        snapshots.append(SnapshotSpec(output, "", budget, fmt))
    elif "output" in table:
        raise ConfigError(f"{where}: 'output' names the map's file, but map = false; "
                          "remove one of them", table["output"])
    queries = table.get("queries", [])
    if not isinstance(queries, list):
        raise ConfigError(f"{where}: 'queries' must be an array of tables "
                          "([[tool.contextpack.queries]]), not " + _kind(queries), queries)
    for i, entry in enumerate(queries, 1):
        at = f"{where} queries #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: expected a table with query and output, not "
                              f"{_kind(entry)}", entry)
        _check_keys(entry, _QUERY_KEYS, at)
        for required in ("query", "output"):
            if required not in entry:
                raise ConfigError(f"{at}: missing {required!r}; each standing query needs "
                                  "a query and an output file", required)
        query = entry["query"]
        if not isinstance(query, str) or not query.strip():
            raise ConfigError(f"{at}: 'query' must be non-empty text, not {query!r}", query)
        qfmt = _choice(entry.get("format", fmt), FORMATS, at, "format")
        snapshots.append(SnapshotSpec(_output(entry["output"], at, "output"), query.strip(),
                                      _budget(entry.get("budget", budget), at, "budget"), qfmt))
    if not snapshots:
        raise ConfigError(f"{where}: nothing to write: map = false and no queries; add a "
                          "[[queries]] table or drop map = false", "map")
    seen: dict[str, int] = {}
    for spec in snapshots:
        key = spec.output.lower()  # one file on case-insensitive file systems
        if key in seen:
            raise ConfigError(f"{where}: two snapshots write {spec.output!r}; give each its "
                              "own output", spec.output)
        seen[key] = 1
    max_file = table.get("max-file-size")
    if max_file is not None:
        max_file = _budget(max_file, where, "max-file-size", "bytes")
    default_embedder = "static" if any(s.query for s in snapshots) else "none"
    return ProjectConfig(
        snapshots=tuple(snapshots),
        source=source,
        encoding=_text(table["encoding"], where, "encoding") if "encoding" in table else None,
        embedder=_choice(table.get("embedder", default_embedder), EMBEDDERS, where,
                         "embedder"),
        include=_globs(table.get("include", []), where, "include"),
        exclude=_globs(table.get("exclude", []), where, "exclude"),
        max_file_bytes=max_file,
        redact=_bool(table.get("redact", True), where, "redact"),
        weights=_weights(table.get("weights", {}), where),
        models=parse_models(table.get("models", {}), where, Path(source).parent),
    )


def model_table(root: str | os.PathLike[str] | None) -> ModelTable:
    """The shipped models, with those ``root``'s configuration declares or overrides
    (only its ``models`` table is read: ``build`` needs nothing else from it)."""
    table = default_table()
    found = find_config(root) if root is not None and os.path.isdir(root) else None
    if found is None or "models" not in found[1]:
        return table
    file, raw = found
    where = f"{file} [tool.contextpack]" if file.name == PYPROJECT else str(file)
    return table.with_models({m.name: m for m in parse_models(raw["models"], where,
                                                              file.parent)})


def parse_models(value: object, where: str, folder: Path) -> tuple[Model, ...]:
    """``[tool.contextpack.models."NAME"]`` tables: new models, or overrides of known ones
    (a known name keeps what the table leaves out). A ``tokenizer`` path is relative to
    the configuration's folder and must stay inside it."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{where}: 'models' must hold one table per model, such as "
                          '[tool.contextpack.models."my-model"] with window = 131072, not '
                          f"{value!r}", value)
    table = default_table()
    out = []
    for name, entry in sorted(value.items()):
        try:
            base: Model | None = table.get(name)
        except ConfigError:
            base = None
        model = model_from_table(name, entry, where, base)
        if "tokenizer" in entry:
            rel = _output(entry["tokenizer"], f"{where} models.{name!r}", "tokenizer")
            model = replace(model, tokenizer_file=str(folder.resolve() / rel))
        out.append(model)
    return tuple(out)


def _weights(value: object, where: str) -> tuple[tuple[str, float], ...]:
    """Ranking weights by name; checked against rank.Weights when they are used."""
    if not isinstance(value, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
        raise ConfigError(f"{where}: 'weights' must be a table of numbers, such as "
                          f"{{graph = 0.5}}, not {value!r}", value)
    return tuple(sorted((str(k), float(v)) for k, v in value.items()))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix the file", str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}); TOML files must be "
                          "UTF-8", str(path)) from exc
    except ValueError as exc:  # an integer of thousands of digits
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix the file", str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", str(path)) from exc


def _check_keys(table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key in known:
            continue
        close = difflib.get_close_matches(key.replace("_", "-"), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"{where}: unknown key {key!r}; {hint}known keys: "
                          f"{', '.join(known)}", key)


def _kind(value: object) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


#: Larger budgets or sizes are typos: no model has a context window near it.
MAX_NUMBER = 1 << 40


def _budget(value: object, where: str, key: str, unit: str = "tokens") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: {key!r} must be a positive whole number of {unit}, not "
                          f"{value!r}", value)
    if value > MAX_NUMBER:  # shown by size: str() of a 5000-digit number raises
        raise ConfigError(f"{where}: {key!r} must be at most {MAX_NUMBER:,} {unit}, not a "
                          f"number of {value.bit_length()} bits", value)
    return value


def _choice(value: object, choices: tuple[str, ...], where: str, key: str) -> str:
    if value not in choices:
        raise ConfigError(f"{where}: {key!r} is {value!r}; choose one of "
                          f"{', '.join(choices)}", value)
    return str(value)


def _bool(value: object, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be true or false, not {value!r}", value)
    return value


def _text(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be non-empty text, not {value!r}", value)
    return value


def _globs(value: object, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key!r} must be an array of glob strings, such as "
                          f'["tests/", "*.lock"], not {value!r}', value)
    return tuple(value)


def _output(value: object, where: str, key: str) -> str:
    """A path relative to the root, normalised: snapshots belong in the repository."""
    text = _text(value, where, key).replace("\\", "/")
    norm = posixpath.normpath(text)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ConfigError(f"{where}: {key!r} is the absolute path {text!r}; give a path "
                          "relative to the repository root, such as 'docs/CONTEXT.md'", value)
    if norm == "." or norm == ".." or norm.startswith("../") or text.endswith("/"):
        raise ConfigError(f"{where}: {key!r} is {text!r}, which is not a file inside the "
                          "repository; give a file path such as 'docs/CONTEXT.md'", value)
    return norm
