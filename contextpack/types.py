"""The data that flows between stages: sources -> chunks -> scored chunks -> a pack.

All types are frozen, slotted dataclasses. Identity derives from content (path, span,
text), never from randomness, so caches and golden files stay stable.
"""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol, TypeVar, cast, get_args

from .contract import JsonItem, PackStats

View = Literal["full", "skeleton", "mention"]
VIEWS: tuple[View, ...] = ("full", "skeleton", "mention")

#: Chunk kinds, from code and from documents.
KINDS = (
    "function",
    "method",
    "class",
    "type",
    "module",
    "section",
    "paragraph",
    "lines",
)


def digest(data: bytes | str) -> str:
    """Content hash used for every cache key (hex, 32 chars)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle a frozen, slotted dataclass as a call of its constructor with its fields.

    Python's own pickling of such a class sets each field through
    ``object.__setattr__`` on load; a constructor call loads several times faster, which
    counts for the hundreds of thousands of chunks worker processes send back.
    Only for classes whose fields are all positional ``__init__`` arguments.
    """
    names = [f.name for f in fields(cast(Any, cls))]
    get = operator.attrgetter(*names)
    # attrgetter of one name gives the bare value, of several a tuple
    values = get if len(names) > 1 else (lambda obj: (get(obj),))

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


@dataclass(frozen=True, slots=True)
class Document:
    """An in-memory document to pack, for callers that have text rather than files.

    ``id`` names it in the output (a path, a URL or any label); ``metadata`` travels
    through to the pack's items untouched.
    """

    text: str
    id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class HasText(Protocol):
    """Any object with a ``text`` string (a LlamaIndex ``TextNode``, your own records)."""

    @property
    def text(self) -> str: ...


class HasPageContent(Protocol):
    """A LangChain ``Document``: its text is ``page_content``."""

    @property
    def page_content(self) -> str: ...


class HasGetContent(Protocol):
    """A LlamaIndex node: its text is ``get_content()``."""

    def get_content(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One text file (or document) ready to be chunked."""

    path: str  # relative, POSIX separators; for documents, their id
    text: str
    language: str
    digest: str
    size: int
    decoded_with: str = "utf-8"


#: Why a file was left out of the sources, for code to branch on (``Skipped.reason`` says
#: it to people, with details such as the size limit or the error).
SkipKind = Literal[
    "binary",  # NUL bytes, undecodable, or a binary extension
    "minified",  # minified or generated: very long lines, a generated-code marker or name
    "build_output",  # a build folder, a bundler's banner, a sourceMappingURL
    "compiled_twin",  # compiled JavaScript or declarations beside their TypeScript
    "vendored",  # a folder of third-party code
    "translation",  # a gettext translation catalog (.po, .pot)
    "too_large",
    "lock",  # a package manager's lock file
    "empty",
    "ignored",  # hidden by .gitignore outside a git checkout
    "link",  # a broken symbolic link, one that leads out of the root, or a loop
    "not_regular",  # a device, FIFO or socket
    "changed",  # changed between the walk and the read
    "unreadable",  # permission denied, or an error stat'ing or reading it
    "unreadable_folder",  # a folder that could not be listed
    "too_deep",  # a folder nested deeper than the walk goes
    "format",  # a notebook or PDF that could not be turned into text
    "failed",  # analysing it failed (on a worker of a distributed build)
]
SKIP_KINDS: tuple[SkipKind, ...] = get_args(SkipKind)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file left out of the sources: ``kind`` says why for code, ``reason`` for people."""

    path: str
    reason: str
    size: int | None = None  # bytes, where the file was stat'ed (reports draw it by size)
    kind: SkipKind = field(kw_only=True)

    @property
    def headline(self) -> str:
        """The reason's first words ("too large", "binary file"), to count skips by."""
        return reason_headline(self.reason)


def reason_headline(reason: str) -> str:
    """A reason's first words, before its details in parentheses (people's grouping)."""
    return reason.split(" (")[0]


@dataclass(frozen=True, slots=True)
class SourceTokens:
    """One indexed file's size in tokens: what reports (the treemap) are drawn from."""

    path: str
    tokens: int
    chunks: int
    language: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous span of one file: a function, a class header, a doc section...

    ``text`` is the exact source lines ``start_line..end_line`` (1-based, inclusive).
    ``skeleton`` is the signature-and-docstring view. ``context`` holds the header
    lines of the enclosing classes, shown above a method when its class is not.
    """

    path: str
    start_line: int
    end_line: int
    kind: str
    symbol: str
    language: str
    text: str
    skeleton: str
    context: str = ""
    parent: str = ""
    part: int = 0  # 0: whole; k >= 1: k-th piece of an oversized definition
    parts: int = 0
    defs: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Stable id from path, span and content."""
        return digest(f"{self.path}\0{self.start_line}\0{self.end_line}\0{self.text}")

    @property
    def label(self) -> str:
        """Symbol with the part number, as shown to readers."""
        if self.part:
            return f"{self.symbol} (part {self.part}/{self.parts})"
        return self.symbol

    def mention(self) -> str:
        """The one-line view: path, lines, kind and symbol."""
        return f"{self.path}:{self.start_line}-{self.end_line} {self.kind} {self.label}".rstrip()

    def view_text(self, view: View) -> str:
        """The text of one view of this chunk."""
        if view == "full":
            return self.text
        if view == "skeleton":
            return self.skeleton
        return self.mention()


@dataclass(frozen=True, slots=True)
class Scored:
    """A chunk with its fused relevance score and the signals behind it."""

    chunk: Chunk
    score: float
    signals: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Item:
    """One chunk as it appears in a pack, in one view."""

    chunk: Chunk
    view: View
    tokens: int
    score: float
    reason: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def path(self) -> str:
        return self.chunk.path

    @property
    def start_line(self) -> int:
        return self.chunk.start_line

    @property
    def end_line(self) -> int:
        return self.chunk.end_line

    def as_dict(self) -> JsonItem:
        """The item as the JSON contract spells it."""
        c = self.chunk
        return {
            "path": c.path,
            "start_line": c.start_line,
            "end_line": c.end_line,
            "kind": c.kind,
            "symbol": c.label,
            "view": self.view,
            "tokens": self.tokens,
            "score": round(self.score, 6),
            "reason": self.reason,
        }


#: Why a candidate was left out of a pack: no room for it in the budget, a near-duplicate
#: of a better chunk, or ranked below the candidates the fit weighed.
DropKind = Literal["no_room", "near_duplicate", "below_candidates"]


@dataclass(frozen=True, slots=True)
class Dropped:
    """A candidate left out of the pack: ``kind`` says why for code, ``reason`` for people."""

    chunk: Chunk
    score: float
    reason: str
    #: weight x scaled score of each signal behind ``score`` (as ``Item.metadata["signals"]``)
    signals: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    kind: DropKind = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class Pack:
    """The result: rendered text within the budget and an account of how it was made.

    ``budget`` is the room the context had: the budget given (or the model's context
    window) less ``reserve_output_tokens``. ``tokens`` counts the whole ``text`` (for the
    json format, its ``context``) with the tokenizer named by ``encoding``. ``stats``
    holds the accounting: ``source_tokens`` (everything), ``packed_tokens``,
    ``compression`` and, when a model is named, ``cost`` (estimated, see models.py).
    """

    text: str
    tokens: int
    budget: int
    encoding: str
    query: str
    format: str
    items: tuple[Item, ...]
    dropped: tuple[Dropped, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    stats: PackStats = field(default_factory=lambda: cast(PackStats, {}), compare=False,
                             hash=False)
    reserve_output_tokens: int = 0
    model: str | None = None
    #: every indexed file with its tokens, for reports (``report_html``)
    files: tuple[SourceTokens, ...] = field(default=(), compare=False, hash=False, repr=False)
    # chunks left out because the session already holds them in full, best first
    already_sent: tuple[Chunk, ...] = ()

    def __str__(self) -> str:
        return self.text

    def report_html(self, title: str = "") -> str:
        """A self-contained HTML page of where the repository's tokens are and where the
        budget went (a treemap, the budget by view, each item's reason); it makes no
        requests. ``title`` names the sources in the page's heading."""
        from .report import pack_html

        return pack_html(self, title)

    @property
    def source_tokens(self) -> int:
        """Tokens of every source, unpacked: what sending it all would cost."""
        return int(self.stats.get("source_tokens", 0))

    @property
    def saved_tokens(self) -> int:
        """Tokens the pack saves against sending every source."""
        return max(0, self.source_tokens - self.tokens)
