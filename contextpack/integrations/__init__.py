"""Drop-in components for RAG frameworks, each behind its extra and imported only when
asked for, so ``import contextpack`` never loads a framework::

    from contextpack.integrations.langchain import ContextpackCompressor   # [langchain]
    from contextpack.integrations.llamaindex import ContextpackPostprocessor  # [llamaindex]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deprecation import renamed

if TYPE_CHECKING:
    from ..api import SettingsOverrides

#: Old field names of the components, and the names that replaced them.
RENAMED_FIELDS = {"max_tokens": "budget"}


def renamed_fields(component: str, data: Any) -> Any:
    """A component's constructor arguments with old field names replaced by the new ones
    (a DeprecationWarning for each), so old code keeps working for one release."""
    if not isinstance(data, dict) or not RENAMED_FIELDS.keys() & data.keys():
        return data
    data = dict(data)
    for old, new in RENAMED_FIELDS.items():
        if old in data:
            renamed(component, old, new, stacklevel=2)
            if new in data:
                raise TypeError(f"{component}: give {new!r} or its old name {old!r}, not both")
            data[new] = data.pop(old)
    return data


def settings_overrides(component: Any) -> SettingsOverrides:
    """The Settings fields a RAG component carries, as ``compress`` takes them: the
    LangChain and LlamaIndex components declare the same six."""
    return {"encoding": component.encoding, "tokenizer": component.tokenizer,
            "model": component.model, "embedder": component.embedder,
            "redact": component.redact, "usage_log": component.usage_log}
