"""Known models: context window, output room, tokenizer and input price, as data.

The table is ``contextpack/data/models.json``, dated (``as_of``) with the pages each
provider's figures came from. ``--model gemini-2.5-pro`` (``model="gemini-2.5-pro"`` in
the API) sizes the budget to the model's window less room for its answer, counts with
its tiktoken encoding, and prices the pack at the tier its length falls in.

Models whose tokenizer is not public as a tiktoken encoding (Anthropic, Google, DeepSeek,
open weights) are counted with ``cl100k_base`` as an approximation unless their
``tokenizer.json`` is given; a share of the window (the margin, by provider in the data
file, sized in ``bench/results/tokenizer_ratios.md``) is then kept free, so a pack that
fills the window by cl100k's count still fits by the model's own.

Users add or override models in ``[tool.contextpack.models."NAME"]`` (see
``model_from_table``) or with ``--model-window`` / ``--model-price``. Prices are list
prices in US dollars per million input tokens (standard tier, no batch or cache
discount) and are estimates: providers change them.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BudgetError, ConfigError

if TYPE_CHECKING:
    from .contract import StatsCost, StatsPriceTier, StatsWindow

#: The budget when neither a budget nor a model is given.
DEFAULT_BUDGET = 8000

#: The encoding used for models without a public one (an approximation).
APPROXIMATE_ENCODING = "cl100k_base"

_DATA_FILE = "models.json"


@dataclass(frozen=True, slots=True)
class PriceTier:
    """A rate for prompts of up to ``up_to`` tokens (None: any length)."""

    usd_per_mtok: float
    up_to: int | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """One model's context window, how to count its tokens, and its input price."""

    name: str
    context_window: int
    #: a tiktoken encoding that counts exactly this model's tokens; None: no public one
    encoding: str | None
    #: US dollars per million input tokens at the first tier; None: no list price
    input_usd_per_mtok: float | None
    provider: str = ""
    max_output_tokens: int = 0
    #: rates by prompt length, shortest prompts first; () when there is no price
    price_tiers: tuple[PriceTier, ...] = ()
    #: the model's own Hugging Face tokenizer.json, when declared in configuration
    tokenizer_file: str | None = None
    #: share of the window kept free when counting is approximate; None: the provider's
    margin: float | None = None
    #: the default room kept for the answer; None: derived from the window and output
    reserve: int | None = None
    price_estimate: bool = False
    note: str = ""
    #: where the entry came from: the table's date, a configuration file, or flags
    source: str = ""

    @property
    def exact(self) -> bool:
        """True if ``encoding`` (or ``tokenizer_file``) is the model's own tokenizer."""
        return self.encoding is not None or self.tokenizer_file is not None

    @property
    def default_reserve(self) -> int:
        """Room for the answer when the budget is the whole window: the model's longest
        answer, but at most a sixteenth of a large window (at least 4,096 tokens) and
        never more than half of it."""
        if self.reserve is not None:
            return self.reserve
        cap = max(4096, self.context_window // 16)
        return min(self.max_output_tokens or cap, cap, self.context_window // 2)

    def tier_for(self, tokens: int) -> PriceTier | None:
        """The rate a prompt of ``tokens`` tokens is charged at (the whole prompt)."""
        for tier in self.price_tiers:
            if tier.up_to is None or tokens <= tier.up_to:
                return tier
        return self.price_tiers[-1] if self.price_tiers else None


@dataclass(frozen=True, slots=True)
class ModelTable:
    """The known models, their aliases, and where and when the figures were taken."""

    models: Mapping[str, Model]
    aliases: Mapping[str, str] = field(default_factory=dict)
    as_of: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    margins: Mapping[str, float] = field(default_factory=dict)

    def get(self, name: str) -> Model:
        """The entry for ``name``: case-insensitive, with a ``provider/`` (or
        ``models/``) prefix, a date or version suffix, ``-latest``/``-preview``/
        ``-instruct``, or dots for dashes (``claude-sonnet-4.5``) accepted."""
        for key in _candidate_keys(name):
            key = self.aliases.get(key, key)
            if key in self.models:
                return self.models[key]
        known = sorted(set(self.models) | set(self.aliases))
        close = difflib.get_close_matches(_plain(name), known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise ConfigError(
            f"unknown model {name!r}; {hint}`contextpack models` lists the {len(self.models)} "
            "known; declare it with --model-window N (and --model-price USD), or in "
            '[tool.contextpack.models."NAME"], or pass --budget N instead',
            name,
        )

    def margin_for(self, model: Model) -> float:
        """The share of the window kept free when ``model`` is counted approximately."""
        if model.margin is not None:
            return model.margin
        return float(self.margins.get(model.provider, self.margins.get("default", 0.0)))

    def rows(self) -> list[dict[str, Any]]:
        """Each model as ``contextpack models`` lists it, by provider then name."""
        return [{
            "name": m.name, "provider": m.provider, "window": m.context_window,
            "output": m.max_output_tokens, "reserve": m.default_reserve,
            "counted_with": m.encoding or (m.tokenizer_file and "tokenizer.json")
            or f"{APPROXIMATE_ENCODING} (approximate, {self.margin_for(m):.0%} margin)",
            "usd_per_million_input_tokens": [
                {"usd": t.usd_per_mtok, "up_to": t.up_to} for t in m.price_tiers] or None,
            "price_estimate": m.price_estimate, "source": m.source, "note": m.note,
        } for m in sorted(self.models.values(), key=lambda m: (m.provider, m.name))]

    def with_models(self, extra: Mapping[str, Model]) -> ModelTable:
        """This table with ``extra`` added, replacing entries of the same name."""
        models = dict(self.models)
        models.update(extra)
        aliases = {k: v for k, v in self.aliases.items() if k not in extra}
        return replace(self, models=models, aliases=aliases)


# Suffixes that name a snapshot or variant of a family: dates, "-latest", "-preview-06-05",
# "-v1:0" (Bedrock), "@20250929" (Vertex), "-instruct", "-it", ":free" (OpenRouter).
_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-v\d+(:\d+)?|:\w+|-latest|-exp"
                     r"|-preview(-\d{2}-\d{2})?|-instruct|-chat|-it|-\d{4}|-\d{2}-\d{2})$")


def _plain(name: str) -> str:
    key = name.strip().lower()
    if "/" in key:  # openai/gpt-4o, models/gemini-2.5-pro, meta-llama/Llama-3.1-8B
        key = key.rsplit("/", 1)[1]
    if key.startswith(("anthropic.", "google.", "meta.", "openai.")):  # Bedrock ids
        key = key.split(".", 1)[1]
    return key


def _candidate_keys(name: str) -> list[str]:
    """``name`` and what it becomes as suffixes are taken off, each also with the dots
    of a version written as dashes (claude-sonnet-4.5 -> claude-sonnet-4-5)."""
    key = _plain(name)
    out: list[str] = []
    while key and key not in out:
        out.append(key)
        dashed = re.sub(r"(?<=\d)\.(?=\d)", "-", key)
        if dashed != key:
            out.append(dashed)
        key = _SUFFIX.sub("", key)
    return out


def _tiers(value: Any, where: str) -> tuple[PriceTier, ...]:
    """A price: a number, or tiers ``[{up_to = 200000, usd = 1.25}, {usd = 2.50}]``."""
    if value is None:
        return ()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{where}: 'price' must not be negative, not {value!r}", value)
        return (PriceTier(float(value)),)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: 'price' must be US dollars per million input tokens "
                          "(1.25) or tiers ([{up_to = 200000, usd = 1.25}, {usd = 2.50}]), "
                          f"not {value!r}", value)
    tiers: list[PriceTier] = []
    for i, tier in enumerate(value):
        if not isinstance(tier, Mapping) or set(tier) - {"up_to", "usd"} or "usd" not in tier:
            raise ConfigError(f"{where}: price tier {i + 1} must be a table with usd and, "
                              f"except for the last, up_to; not {tier!r}", tier)
        usd, up_to = tier["usd"], tier.get("up_to")
        last = i == len(value) - 1
        if isinstance(usd, bool) or not isinstance(usd, (int, float)) or usd < 0 or (
                up_to is None and not last) or (up_to is not None and (
                    isinstance(up_to, bool) or not isinstance(up_to, int) or up_to <= 0)):
            raise ConfigError(f"{where}: price tier {i + 1} is {dict(tier)!r}: usd must be a "
                              "number >= 0 and up_to a positive whole number of tokens "
                              "(only the last tier may leave it out)", tier)
        if tiers and up_to is not None and tiers[-1].up_to is not None \
                and up_to <= tiers[-1].up_to:
            raise ConfigError(f"{where}: price tiers must grow: up_to {up_to} follows "
                              f"{tiers[-1].up_to}", up_to)
        tiers.append(PriceTier(float(usd), up_to))
    return tuple(tiers)


MODEL_KEYS = ("encoding", "margin", "output", "price", "provider", "reserve", "tokenizer",
              "window")


def model_from_table(name: str, entry: Mapping[str, Any], where: str,
                     base: Model | None = None) -> Model:
    """A model declared in configuration (``[tool.contextpack.models."NAME"]``), or an
    override of ``base``: ``window`` (tokens), ``output`` (longest answer), ``reserve``
    (room kept for the answer), ``price`` (a number or tiers), ``encoding`` (tiktoken)
    or ``tokenizer`` (a tokenizer.json path), ``margin`` (0-0.5), ``provider``."""
    at = f"{where} models.{name!r}"
    for key in entry:
        if key not in MODEL_KEYS:
            close = difflib.get_close_matches(str(key), MODEL_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{at}: unknown key {key!r}; {hint}known keys: "
                              f"{', '.join(MODEL_KEYS)}", key)
    if base is None and "window" not in entry:
        raise ConfigError(f"{at}: {name!r} is not a known model, so it needs a window "
                          "(its context window in tokens)", name)

    def whole(key: str, low: int) -> int | None:
        value = entry.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{at}: {key!r} must be a whole number of tokens >= {low}, "
                              f"not {value!r}", value)
        return value

    def text(key: str) -> str | None:
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{at}: {key!r} must be non-empty text, not {value!r}", value)
        return value

    margin = entry.get("margin")
    if margin is not None and (isinstance(margin, bool) or not isinstance(margin, (int, float))
                               or not 0 <= margin <= 0.5):
        raise ConfigError(f"{at}: 'margin' must be a share of the window from 0 to 0.5, "
                          f"not {margin!r}", margin)
    model = base or Model(name, 1, None, None, source=where)
    window = whole("window", 1)
    output = whole("output", 0)
    reserve = whole("reserve", 0)
    encoding, tokenizer = text("encoding"), text("tokenizer")
    tiers = _tiers(entry["price"], at) if "price" in entry else model.price_tiers
    model = replace(
        model,
        name=name,
        context_window=window if window is not None else model.context_window,
        max_output_tokens=output if output is not None else model.max_output_tokens,
        reserve=reserve if reserve is not None else model.reserve,
        encoding=encoding if encoding is not None else (None if tokenizer else model.encoding),
        tokenizer_file=tokenizer if tokenizer is not None else model.tokenizer_file,
        margin=float(margin) if margin is not None else model.margin,
        provider=text("provider") or model.provider,
        price_tiers=tiers,
        input_usd_per_mtok=tiers[0].usd_per_mtok if tiers else None,
        price_estimate=model.price_estimate if "price" not in entry else False,
        source=where,
    )
    if model.reserve is not None and model.reserve >= model.context_window:
        raise ConfigError(f"{at}: reserve {model.reserve} leaves no room in a window of "
                          f"{model.context_window}", model.reserve)
    return model


def declare_model(table: ModelTable, name: str, window: int | None = None,
                  price: Any = None) -> Model:
    """``name`` from ``table``, with the window and price given (``--model-window``,
    ``--model-price``) overriding it, or declaring it when the table lacks it."""
    if window is None and price is None:
        return table.get(name)
    try:
        base: Model | None = table.get(name)
    except ConfigError:
        base = None
    entry: dict[str, Any] = {}
    if window is not None:
        entry["window"] = window
    if price is not None:
        entry["price"] = price
    return model_from_table(base.name if base else name, entry,
                            "--model-window/--model-price", base)


@lru_cache(maxsize=1)
def default_table() -> ModelTable:
    """The table shipped with contextpack (``contextpack/data/models.json``)."""
    # a plain path, not importlib.resources: that import alone costs a warm query 20 ms
    raw = json.loads((Path(__file__).parent / "data" / _DATA_FILE).read_text("utf-8"))
    where = f"contextpack {_DATA_FILE} ({raw['as_of']})"
    models = {}
    for name, entry in raw["models"].items():
        tiers = _tiers(entry.get("price"), where)
        models[name] = Model(
            name, entry["window"], entry.get("encoding"),
            tiers[0].usd_per_mtok if tiers else None, entry.get("provider", ""),
            max_output_tokens=entry.get("output", 0), price_tiers=tiers,
            price_estimate=bool(entry.get("estimate", False)), note=entry.get("note", ""),
            source=where)
    margins = {k: float(v) for k, v in raw.get("margins", {}).items() if k != "about"}
    return ModelTable(models, dict(raw.get("aliases", {})), raw["as_of"],
                      dict(raw.get("sources", {})), margins)


#: The day the shipped table's windows and prices were taken.
PRICES_AS_OF = default_table().as_of
#: The shipped models by name.
MODELS: Mapping[str, Model] = default_table().models


def get_model(name: str | Model, table: ModelTable | None = None) -> Model:
    """The model ``name`` names (in ``table``, default: the shipped one); a ``Model``
    is returned as it is."""
    if isinstance(name, Model):
        return name
    return (table or default_table()).get(name)


def encodings_by_model() -> dict[str, str]:
    """Model name -> its exact tiktoken encoding, for the models that have one."""
    return {m.name: m.encoding for m in MODELS.values() if m.encoding is not None}


@dataclass(frozen=True, slots=True)
class Room:
    """How a model's window is shared: the answer's reserve, the margin kept for an
    approximate count, and the tokens the pack may take by the counting tokenizer."""

    budget: int  # tokens of the counting tokenizer the pack may take
    total: int | None = None  # the window, or the budget given
    reserve_output_tokens: int = 0
    margin: float = 0.0  # share of the window kept free for an approximate count

    def as_dict(self, model: Model | None) -> StatsWindow:
        return {"model": model.name if model else None, "total": self.total,
                "reserve_output_tokens": self.reserve_output_tokens,
                "context": (self.total or 0) - self.reserve_output_tokens,
                "margin": self.margin, "budget": self.budget}


def plan_room(budget: int | None, model: str | Model | None, reserve: int | None = None,
              exact: bool = True, margin: float = 0.0) -> Room:
    """The tokens a pack may take: ``budget`` (or the model's window) less the room kept
    for the answer (``reserve``; None: the model's default when the window is the budget,
    else 0), and, when counting is not ``exact``, less ``margin`` of the window, so the
    model's own tokenizer never counts more than its window."""
    m = get_model(model) if model is not None else None
    if reserve is None:
        reserve = m.default_reserve if m is not None and budget is None else 0
    room = context_budget(budget, m, reserve)
    if m is None or exact or margin <= 0:
        return Room(room, budget if budget is not None else (m.context_window if m else room),
                    reserve, 0.0)
    # Never over the real window: the pack plus the answer, scaled by the worst ratio
    # of the model's tokenizer to ours, stay inside it.
    safe = math.floor((m.context_window - reserve) / (1 + margin))
    total = budget if budget is not None else m.context_window
    if room <= safe:
        return Room(room, total, reserve, 0.0)
    if safe <= 0:
        raise BudgetError(f"{m.name}'s window ({m.context_window:,}) less the reserve "
                          f"({reserve:,}) leaves no room; reserve less", reserve)
    return Room(safe, total, reserve, margin)


def context_budget(budget: int | None, model: str | Model | None,
                   reserve_output_tokens: int = 0) -> int:
    """The tokens the context may take: the budget (or the model's whole context window)
    less the room kept for the answer."""
    if reserve_output_tokens < 0:
        raise ConfigError(
            f"reserve_output_tokens must not be negative, not {reserve_output_tokens}",
            reserve_output_tokens,
        )
    m = get_model(model) if model is not None else None
    window = m.context_window if m is not None else None
    if budget is None:
        budget = window if window is not None else DEFAULT_BUDGET
    elif m is not None and window is not None and budget > window:
        raise BudgetError(
            f"budget {budget} is larger than {m.name}'s context window ({window:,} tokens); "
            f"pass a budget of {window} or less, or none to use the whole window",
            budget,
        )
    room = budget - reserve_output_tokens
    if reserve_output_tokens and room <= 0:
        raise BudgetError(
            f"reserving {reserve_output_tokens} tokens for the answer leaves no room in a "
            f"budget of {budget}; reserve less or pass a budget above {reserve_output_tokens}",
            budget,
            reserve_output_tokens + 1,
        )
    return room


def estimate_cost(model: str | Model, source_tokens: int, packed_tokens: int,
                  exact: bool | None = None) -> StatsCost:
    """What sending every source versus the pack would cost as input to ``model``, each
    at the price tier its length falls in."""
    m = get_model(model)
    table = default_table()
    pack_tier, source_tier = m.tier_for(packed_tokens), m.tier_for(source_tokens)
    out: StatsCost = {
        "model": m.name,
        "usd_per_million_input_tokens": pack_tier.usd_per_mtok if pack_tier else None,
        "tier": _tier_dict(pack_tier, m),
        "sources_tier": _tier_dict(source_tier, m),
        "prices_as_of": table.as_of if m.source.startswith("contextpack") else m.source,
        "estimate": True,
        "price_estimate": m.price_estimate,
        "exact_tokenizer": m.exact if exact is None else exact,
        "sources_usd": None,
        "pack_usd": None,
        "saved_usd": None,
    }
    if pack_tier is None or source_tier is None:
        return out
    sources_usd = source_tokens * source_tier.usd_per_mtok / 1e6
    pack_usd = packed_tokens * pack_tier.usd_per_mtok / 1e6
    out["sources_usd"] = round(sources_usd, 6)
    out["pack_usd"] = round(pack_usd, 6)
    out["saved_usd"] = round(sources_usd - pack_usd, 6)
    return out


def _tier_dict(tier: PriceTier | None, model: Model) -> StatsPriceTier | None:
    """A tier as the JSON contract shows it: its rate, and the prompt lengths it covers."""
    if tier is None:
        return None
    i = model.price_tiers.index(tier)
    above = model.price_tiers[i - 1].up_to if i else 0
    entry: StatsPriceTier = {"usd_per_million_input_tokens": tier.usd_per_mtok, "above": above,
                             "up_to": tier.up_to}
    return entry


__all__ = [
    "APPROXIMATE_ENCODING",
    "DEFAULT_BUDGET",
    "MODELS",
    "MODEL_KEYS",
    "Model",
    "ModelTable",
    "PRICES_AS_OF",
    "PriceTier",
    "Room",
    "context_budget",
    "declare_model",
    "default_table",
    "encodings_by_model",
    "estimate_cost",
    "get_model",
    "model_from_table",
    "plan_room",
]
