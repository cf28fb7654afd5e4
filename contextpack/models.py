"""Known models: context window, tokenizer and input price, in one dated table.

``--model gpt-4o`` (``model="gpt-4o"`` in the API) sizes the budget to the model's context
window and counts with its tiktoken encoding; the price turns token counts into an
estimated cost. Models whose tokenizer is not public as a tiktoken encoding (Anthropic,
Google) or that ship their own ``tokenizer.json`` (open-weight models) are counted with
``cl100k_base`` as an approximation unless a ``tokenizer.json`` is given.

Prices are list prices in US dollars per million input tokens, standard tier (no batch
discount, no prompt caching), as published by each provider on ``PRICES_AS_OF``. They
are estimates: providers change them, and a tokenizer other than the model's own makes
the count approximate too. Open-weight models have no single price (``None``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BudgetError, ConfigError

#: The day the context windows and prices below were taken.
PRICES_AS_OF = "2025-08-15"

#: The budget when neither a budget nor a model is given.
DEFAULT_BUDGET = 8000


@dataclass(frozen=True, slots=True)
class Model:
    """One model's context window, how to count its tokens, and its input price."""

    name: str
    context_window: int
    #: a tiktoken encoding that counts exactly this model's tokens; None: no public one
    encoding: str | None
    #: US dollars per million input tokens; None: no list price (open weights)
    input_usd_per_mtok: float | None
    provider: str = ""

    @property
    def exact(self) -> bool:
        """True if ``encoding`` is the model's own tokenizer."""
        return self.encoding is not None


def _m(name: str, window: int, encoding: str | None, price: float | None,
       provider: str) -> Model:
    return Model(name, window, encoding, price, provider)


_TABLE: tuple[Model, ...] = (
    # OpenAI: tiktoken encodings are the models' own
    _m("gpt-3.5-turbo", 16_385, "cl100k_base", 0.50, "openai"),
    _m("gpt-4", 8_192, "cl100k_base", 30.00, "openai"),
    _m("gpt-4-turbo", 128_000, "cl100k_base", 10.00, "openai"),
    _m("gpt-4o", 128_000, "o200k_base", 2.50, "openai"),
    _m("gpt-4o-mini", 128_000, "o200k_base", 0.15, "openai"),
    _m("gpt-4.1", 1_047_576, "o200k_base", 2.00, "openai"),
    _m("gpt-4.1-mini", 1_047_576, "o200k_base", 0.40, "openai"),
    _m("gpt-4.1-nano", 1_047_576, "o200k_base", 0.10, "openai"),
    _m("o1", 200_000, "o200k_base", 15.00, "openai"),
    _m("o3", 200_000, "o200k_base", 2.00, "openai"),
    _m("o4-mini", 200_000, "o200k_base", 1.10, "openai"),
    _m("gpt-5", 400_000, "o200k_base", 1.25, "openai"),
    _m("gpt-5-mini", 400_000, "o200k_base", 0.25, "openai"),
    _m("gpt-5-nano", 400_000, "o200k_base", 0.05, "openai"),
    _m("text-embedding-3-small", 8_191, "cl100k_base", 0.02, "openai"),
    _m("text-embedding-3-large", 8_191, "cl100k_base", 0.13, "openai"),
    _m("text-embedding-ada-002", 8_191, "cl100k_base", 0.10, "openai"),
    # Anthropic and Google: no public tiktoken encoding, counts are approximate
    _m("claude-3-5-haiku", 200_000, None, 0.80, "anthropic"),
    _m("claude-3-7-sonnet", 200_000, None, 3.00, "anthropic"),
    _m("claude-sonnet-4", 200_000, None, 3.00, "anthropic"),
    _m("claude-opus-4", 200_000, None, 15.00, "anthropic"),
    _m("claude-opus-4-1", 200_000, None, 15.00, "anthropic"),
    _m("gemini-2.5-flash", 1_048_576, None, 0.30, "google"),
    _m("gemini-2.5-pro", 1_048_576, None, 1.25, "google"),  # prompts up to 200k tokens
    # Open weights: pass their tokenizer.json for exact counts
    _m("llama-3.1-8b", 131_072, None, None, "meta"),
    _m("llama-3.1-70b", 131_072, None, None, "meta"),
    _m("llama-3.3-70b", 131_072, None, None, "meta"),
    _m("qwen2.5-7b", 32_768, None, None, "qwen"),
    _m("qwen2.5-coder-32b", 32_768, None, None, "qwen"),
    _m("gemma-2-9b", 8_192, None, None, "google"),
    _m("gemma-3-27b", 131_072, None, None, "google"),
    _m("mistral-7b-instruct-v0.3", 32_768, None, None, "mistral"),
)

MODELS: dict[str, Model] = {m.name: m for m in _TABLE}

#: The encoding used for models without a public one (an approximation).
APPROXIMATE_ENCODING = "cl100k_base"

# Dated snapshots ("gpt-4o-2024-08-06", "claude-3-5-haiku-20241022") and "-latest"
# aliases share their family's window and price.
_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-instruct|-chat|-it)$")


def get_model(name: str) -> Model:
    """The table's entry for ``name`` (case-insensitive; dated snapshots and a
    ``provider/`` prefix are accepted)."""
    key = name.strip().lower()
    if "/" in key:
        key = key.rsplit("/", 1)[1]
    seen = set()
    while key not in MODELS and key not in seen:
        seen.add(key)
        key = _SUFFIX.sub("", key)
    model = MODELS.get(key)
    if model is None:
        raise ConfigError(
            f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}; "
            "or pass a budget (--budget N) instead of a model",
            name,
        )
    return model


def encodings_by_model() -> dict[str, str]:
    """Model name -> its exact tiktoken encoding, for the models that have one."""
    return {m.name: m.encoding for m in _TABLE if m.encoding is not None}


def context_budget(budget: int | None, model: str | None, reserve_output_tokens: int = 0) -> int:
    """The tokens the context may take: the budget (or the model's whole context window)
    less the room kept for the answer."""
    if reserve_output_tokens < 0:
        raise ConfigError(
            f"reserve_output_tokens must not be negative, not {reserve_output_tokens}",
            reserve_output_tokens,
        )
    window = get_model(model).context_window if model else None
    if budget is None:
        budget = window if window is not None else DEFAULT_BUDGET
    elif window is not None and budget > window:
        raise BudgetError(
            f"budget {budget} is larger than {model}'s context window ({window:,} tokens); "
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


def estimate_cost(model: str, source_tokens: int, packed_tokens: int) -> dict[str, object]:
    """What sending every source versus the pack would cost as input to ``model``."""
    m = get_model(model)
    price = m.input_usd_per_mtok
    out: dict[str, object] = {
        "model": m.name,
        "usd_per_million_input_tokens": price,
        "prices_as_of": PRICES_AS_OF,
        "estimate": True,
        "exact_tokenizer": m.exact,
    }
    if price is None:
        out.update(sources_usd=None, pack_usd=None, saved_usd=None)
        return out
    sources_usd = source_tokens * price / 1e6
    pack_usd = packed_tokens * price / 1e6
    out.update(sources_usd=round(sources_usd, 6), pack_usd=round(pack_usd, 6),
               saved_usd=round(sources_usd - pack_usd, 6))
    return out


__all__ = [
    "APPROXIMATE_ENCODING",
    "DEFAULT_BUDGET",
    "MODELS",
    "Model",
    "PRICES_AS_OF",
    "context_budget",
    "encodings_by_model",
    "estimate_cost",
    "get_model",
]
