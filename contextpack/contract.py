"""The machine contract, typed: ``Pack.stats`` and the document ``--format json`` writes.

In: nothing (type declarations only). Out: the ``TypedDict``s that ``api`` builds
``Pack.stats`` with and ``render.json`` builds its document with;
``tests/test_contract.py`` checks a real rendered pack against them, key by key, so a key
added, renamed or retyped shows as a failing test and a deliberate change to the
contract. Floats may be written as whole numbers; ``None`` only where a type says so.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class StatsViews(TypedDict):
    """Items in the pack by view."""

    full: int
    skeleton: int
    mention: int


class StatsRedaction(TypedDict):
    """Where a secret was replaced by a marker (never the value)."""

    path: str
    line: int
    type: str


class StatsSeconds(TypedDict):
    """Wall time of ranking and packing (in ``Pack.stats`` only: it varies run to run)."""

    rank: float
    pack: float


class StatsWindow(TypedDict):
    """How a model's window was shared (``models.Room``)."""

    model: str | None
    total: int | None
    reserve_output_tokens: int
    context: int
    margin: float
    budget: int


class StatsPriceTier(TypedDict):
    """A price tier: its rate and the prompt lengths it covers."""

    usd_per_million_input_tokens: float
    above: int | None  # the previous tier's bound; 0 for the first
    up_to: int | None  # None: any length


class StatsCost(TypedDict):
    """What sending every source versus the pack would cost (``models.estimate_cost``)."""

    model: str
    usd_per_million_input_tokens: float | None
    tier: StatsPriceTier | None
    sources_tier: StatsPriceTier | None
    prices_as_of: str
    estimate: bool
    price_estimate: bool
    exact_tokenizer: bool
    sources_usd: float | None
    pack_usd: float | None
    saved_usd: float | None


class _StatsOptional(TypedDict, total=False):
    window: StatsWindow  # when a model is named or output tokens are reserved
    cost: StatsCost  # when a model is named


class JsonStats(_StatsOptional):
    """The statistics the JSON document holds: ``Pack.stats`` less the timings."""

    files: int
    chunks: int
    source_tokens: int
    packed_tokens: int
    compression: float | None
    items: StatsViews
    ranking: Literal["query", "structure"]
    named_symbols: list[str]
    named_files: list[str]
    #: files skipped before ranking, counted by the first words of their reason
    skipped: dict[str, int]
    embedder: str
    redactions: list[StatsRedaction]


class PackStats(JsonStats):
    """``Pack.stats``: the JSON document's statistics and the timings."""

    seconds: StatsSeconds


class JsonItem(TypedDict):
    """One item of the pack (``types.Item.as_dict``)."""

    path: str
    start_line: int
    end_line: int
    kind: str
    symbol: str
    view: Literal["full", "skeleton", "mention"]
    tokens: int
    score: float
    reason: str


class JsonLeftOut(TypedDict):
    """One of the best chunks left out, and why."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    score: float
    reason: str


class JsonSkipped(TypedDict):
    """A file left out before ranking, and why (the reason is for people)."""

    path: str
    reason: str


class JsonSpan(TypedDict):
    """A chunk left out because the session already holds it."""

    path: str
    start_line: int
    end_line: int
    symbol: str


class _PackOptional(TypedDict, total=False):
    already_in_context: list[JsonSpan]  # only when a session held some


class JsonPack(_PackOptional):
    """The document ``--format json`` writes: the context text and an account of it."""

    budget: int
    tokens: int
    encoding: str
    query: str
    context: str
    items: list[JsonItem]
    left_out: list[JsonLeftOut]
    skipped: list[JsonSkipped]
    stats: JsonStats
