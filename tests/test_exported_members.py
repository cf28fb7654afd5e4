"""The public surface is honest: every name in ``contextpack.__all__`` is defined there,
lives in contextpack, and every type a public signature names is exported too (or is a
builtin, standard-library or numpy type), so a caller can spell what they pass.

Modelled on httpx's ``tests/test_exported_members.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from collections.abc import Iterator

import contextpack

# Third-party types a public signature may name: an embedder returns numpy arrays.
THIRD_PARTY_OK = {"numpy"}
# Exported as handles a caller holds and passes back (``Packer.index``, ``Settings.engine``);
# their own members are the index stage's internals, not this surface: only their
# constructor is checked, for the engine a caller builds, and nothing for the index.
HANDLES = {"Index": (), "DaskEngine": ("__init__",)}


def test_all_is_sorted_and_every_name_is_defined() -> None:
    assert contextpack.__all__ == sorted(contextpack.__all__)
    assert len(set(contextpack.__all__)) == len(contextpack.__all__)
    for name in contextpack.__all__:
        assert hasattr(contextpack, name), name


def test_no_private_name_leaks() -> None:
    assert [n for n in contextpack.__all__ if n.startswith("_") and n != "__version__"] == []
    public = {n for n in vars(contextpack) if not n.startswith("_")}
    # Submodules are importable by path; any other public name must be in __all__.
    stray = {n for n in public - set(contextpack.__all__)
             if not isinstance(getattr(contextpack, n), types.ModuleType)
             and n not in ("annotations", "TYPE_CHECKING", "Any")}
    assert stray == set()


def test_every_public_object_lives_in_contextpack() -> None:
    for name in contextpack.__all__:
        obj = getattr(contextpack, name)
        module = getattr(obj, "__module__", None)
        if module is None or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # __version__, type aliases, constants
        assert module == "contextpack" or module.startswith("contextpack."), (name, module)


def test_every_type_in_a_public_signature_is_exported() -> None:
    exported = {id(getattr(contextpack, n)) for n in contextpack.__all__}
    missing: set[str] = set()
    for where, hint in _public_hints():
        for cls in _classes_in(hint):
            if id(cls) in exported or _standard(cls):
                continue
            missing.add(f"{cls.__module__}.{cls.__qualname__} (in {where})")
    assert sorted(missing) == []


def test_source_does_not_collapse_to_any() -> None:
    args = typing.get_args(contextpack.Source)
    assert args and typing.Any not in args
    assert contextpack.Document in args and str in args


def test_packer_and_compress_take_no_untyped_options() -> None:
    for func in (contextpack.Packer.__init__, contextpack.compress, contextpack.pack):
        hints = typing.get_type_hints(func)
        for p in inspect.signature(func).parameters.values():
            if p.name == "self":
                continue
            assert p.name in hints, f"{func.__qualname__}({p.name}) has no annotation"
            assert hints[p.name] is not typing.Any, f"{func.__qualname__}({p.name}: Any)"


def test_settings_overrides_name_every_settings_field() -> None:
    fields = {f.name for f in dataclasses.fields(contextpack.Settings)}
    overrides = set(typing.get_type_hints(contextpack.SettingsOverrides))
    assert overrides - {"tokenizer_file"} == fields  # plus the deprecated old name


def test_cli_copies_equal_their_homes() -> None:
    """The CLI keeps copies of constants whose modules import numpy (``--help`` must not
    pay for them): each copy must equal its home."""
    from contextpack import cli, embed, render

    assert tuple(cli.EMBEDDERS) == tuple(embed.EMBEDDERS)
    assert tuple(cli.FORMATS) == tuple(render.FORMATS)


# ----------------------------------------------------------------------- helpers
def _public_hints() -> Iterator[tuple[str, object]]:
    """Every annotation of every public function, method, property and field."""
    for name in contextpack.__all__:
        obj = getattr(contextpack, name)
        if inspect.isfunction(obj):
            yield from _hints_of(name, obj)
        elif inspect.isclass(obj):
            yield from _class_hints(name, obj)


def _class_hints(name: str, cls: type) -> Iterator[tuple[str, object]]:
    if name in HANDLES:
        for attr in HANDLES[name]:
            yield from _hints_of(f"{name}.{attr}", getattr(cls, attr))
        return
    if cls.__module__.startswith("contextpack") and not issubclass(cls, BaseException):
        exported = {n: getattr(contextpack, n) for n in contextpack.__all__}
        for field, hint in typing.get_type_hints(cls, localns=exported).items():
            if not field.startswith("_"):
                yield f"{name}.{field}", hint
    for attr, value in vars(cls).items():
        if attr.startswith("_") and attr != "__init__":
            continue
        if isinstance(value, property) and value.fget is not None:
            yield from _hints_of(f"{name}.{attr}", value.fget)
        elif isinstance(value, (classmethod, staticmethod)):
            yield from _hints_of(f"{name}.{attr}", value.__func__)
        elif inspect.isfunction(value):
            yield from _hints_of(f"{name}.{attr}", value)


def _hints_of(where: str, func: object) -> Iterator[tuple[str, object]]:
    # A name only imported for type checking must be exported: resolve it from __all__.
    exported = {n: getattr(contextpack, n) for n in contextpack.__all__}
    for param, hint in typing.get_type_hints(func, localns=exported).items():
        yield f"{where}({param})", hint


def _classes_in(hint: object) -> Iterator[type]:
    """The classes a type hint names, through unions, generics and Unpack."""
    if hint is None or hint is type(None) or isinstance(hint, typing.TypeVar):
        return
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return
    if origin is not None:
        if inspect.isclass(origin):
            yield origin
        for arg in typing.get_args(hint):
            if isinstance(arg, list):  # Callable[[A, B], R]
                for a in arg:
                    yield from _classes_in(a)
            else:
                yield from _classes_in(arg)
    elif inspect.isclass(hint):
        yield hint


def _standard(cls: type) -> bool:
    top = cls.__module__.split(".")[0]
    return (top in ("builtins", "typing", "typing_extensions") or top in sys.stdlib_module_names
            or top in THIRD_PARTY_OK)
