"""Sources -> chunks, per language: tree-sitter for code and documents, line windows
for everything else. ``chunk_source`` is the one entry point."""

from __future__ import annotations

from dataclasses import replace

from ..types import Chunk, SourceFile
from .languages import CODE_SPECS, DOC_LANGUAGES, language_for_path

#: Chunks longer than this many characters are cut at syntax boundaries.
MAX_CHUNK_CHARS = 4000


def chunk_source(src: SourceFile, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Chunk one source file. Never raises on odd content: a file whose syntax tree is
    mostly errors falls back to line windows (kind ``lines``).

    A skeleton that says nothing (only ``...`` and brackets) becomes the full text, so it
    is never offered as a cheaper view."""
    return [c if _informative(c.skeleton) else replace(c, skeleton=c.text)
            for c in _chunks(src, max_chars)]


def _informative(skeleton: str) -> bool:
    return any(ch.isalnum() for ch in skeleton.replace("...", ""))


def _chunks(src: SourceFile, max_chars: int) -> list[Chunk]:
    # Here, not at the top: the scan needs only languages.py, and a warm query no chunker.
    from .code import chunk_code
    from .docs import chunk_document
    from .notebook import chunk_notebook
    from .text import paragraph_chunks, window_chunks

    if src.language in CODE_SPECS:
        chunks = chunk_code(src, max_chars)
        if chunks is None:
            return window_chunks(src, max_chars)
        return chunks
    if src.language in ("markdown", "rst"):
        return chunk_document(src, max_chars)
    if src.language == "html":  # its visible text, with headings as Markdown's
        return chunk_document(replace(src, language="markdown"), max_chars)
    if src.language == "notebook":
        return chunk_notebook(src, max_chars, _chunks)
    if src.language == "text":
        return paragraph_chunks(src, max_chars)
    return window_chunks(src, max_chars)


__all__ = ["CODE_SPECS", "DOC_LANGUAGES", "MAX_CHUNK_CHARS", "chunk_source", "language_for_path"]
