"""Files that are not text as written: Jupyter notebooks, HTML pages and PDFs, turned
into the text that is chunked and packed (an HTML page into its visible text, line for
line: see ``chunk/html.py``).

A notebook becomes its cells in the "percent" format (jupytext's): a ``# %% [markdown]``
or ``# %% [python]`` line before each cell, then the cell's source; outputs (images,
tables, tracebacks) are dropped. A notebook's line numbers count lines of that text, not
of the JSON file. A PDF becomes its pages' text, each page after a ``--- page N ---`` line
(with the optional ``contextpack[pdf]`` extra; otherwise it is skipped and says so).
Both are parsed, never executed.
"""

from __future__ import annotations

import io
import json
import logging
import re

from .chunk.languages import EXTENSIONS
from .types import Skipped, SourceFile, digest

#: The line before each notebook cell; its bracket names markdown or the code's language.
CELL_MARKER = re.compile(r"^# %% \[([A-Za-z0-9_+#-]+)\]$")
PDF_HINT = "PDF: install contextpack[pdf]"
PDF_PAGE = "--- page {} ---"


class FormatError(ValueError):
    """A file that claims a format it does not hold (the reason is the message)."""


def notebook_text(raw: str) -> str:
    """The cells of an .ipynb notebook as percent-format text, outputs dropped."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FormatError("notebook is not valid JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("cells", []), list):
        raise FormatError("notebook has no list of cells")
    language = notebook_language(doc)
    parts: list[str] = []
    for cell in doc.get("cells", []):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str) or not source.strip():
            continue
        tag = "markdown" if kind in ("markdown", "raw") else language
        parts.append(f"# %% [{tag}]\n{source.rstrip()}\n")
    return "\n".join(parts)


def notebook_language(doc: dict) -> str:
    """The chunker language of a notebook's code cells (python unless it says otherwise)."""
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    info = meta.get("language_info")
    info = info if isinstance(info, dict) else {}
    ext = info.get("file_extension")
    if isinstance(ext, str) and ext.lower() in EXTENSIONS:
        return EXTENSIONS[ext.lower()]
    name = info.get("name")
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_+#-]{1,20}", name):
        return name.lower()
    return "python"


def pdf_text(data: bytes) -> str:
    """The text of a PDF's pages (pypdf, from the ``contextpack[pdf]`` extra)."""
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise FormatError(PDF_HINT) from exc
    # pypdf logs every flaw it reads past ("incorrect startxref pointer", "fontTools is
    # required ..."): through logging's last resort that reached stderr despite -q.
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FormatError("PDF: encrypted")
        pages = [PDF_PAGE.format(n) + "\n" + (page.extract_text() or "").strip()
                 for n, page in enumerate(reader.pages, 1)]
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - a third-party parser on untrusted bytes
        raise FormatError(f"PDF: unreadable ({type(exc).__name__})") from exc
    finally:
        pypdf_log.setLevel(level)
    return "\n\n".join(pages) + "\n"


def read_special(path: str, data: bytes) -> SourceFile | Skipped | None:
    """A notebook, HTML page or PDF as a SourceFile of its text (or Skipped, with why); None for any
    other file."""
    lower = path.lower()
    if lower.endswith(".ipynb"):
        convert, language = (lambda: notebook_text(data.decode("utf-8", "replace"))), "notebook"
    elif lower.endswith(".pdf"):
        convert, language = (lambda: pdf_text(data)), "text"
    elif lower.endswith((".html", ".htm", ".xhtml")):
        from .chunk.html import html_text

        convert, language = (lambda: html_text(data.decode("utf-8", "replace"))), "html"
    else:
        return None
    try:
        text = convert()
    except FormatError as exc:
        return Skipped(path, str(exc), kind="format")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    if not text.strip():
        return Skipped(path, "empty file (no text in its cells or pages)", kind="empty")
    return SourceFile(path=path, text=text, language=language, digest=digest(data),
                      size=len(data), decoded_with="pdf" if language == "text" else language)
