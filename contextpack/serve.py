"""contextpack as an MCP server: a coding agent asks for context in its loop.

``contextpack mcp [PATH...]`` serves over stdio (``--http HOST:PORT``: streamable HTTP)
on the official ``mcp`` SDK (2.x, ``MCPServer``). The index of the roots is loaded once,
in the background, and stays resident; a file watcher (watchfiles) marks it stale when a
file changes, and the next call re-reads only the changed files. Without watchfiles, each
call stats the tree instead.

Tools: ``pack`` (the budgeted context for a question), ``search`` (ranked places and the
cost of each view, no bodies), ``expand`` (one place in full), ``outline`` (the
repository map, or one file's members) and ``related`` (callers and callees). Snapshot
files the project configures are resources.

Within one session a chunk sent in full (by ``pack`` or ``expand``) is not sent again: a
later pack names it as already in context and spends its tokens on new material
(``fresh=true`` resends). A stdio server serves one client, so its session is the
process; over HTTP, the transport's session id (``mcp-session-id``) names it, and a
client without one gets no such memory. The logic lives in the library (``Session``,
``Packer``, ``navigate``): this module checks arguments and shapes results.

Bad arguments are tool errors with one line saying what to fix; nothing here writes into
the sources (the cache folder is the index's own).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from . import navigate
from .api import Packer, Settings
from .errors import ContextpackError
from .session import Session

log = logging.getLogger("contextpack")

#: Claude Code's default limit on one tool result (MAX_MCP_OUTPUT_TOKENS); other hosts
#: are alike. The default budget stays under it; larger budgets are allowed, and flagged.
HOST_RESULT_LIMIT = 25_000
TOOL_BUDGET = 20_000
OUTLINE_BUDGET = 8_000
EXPAND_LIMIT = 20_000  # tokens of code one expand returns at most
LOAD_WAIT_S = 50  # a call waits this long for the first load, then says to come back
MAX_SESSIONS = 256  # HTTP sessions remembered (least recently used are forgotten)
_DEFAULT_SESSION = "stdio"

INSTRUCTIONS = (
    "contextpack packs the code most relevant to a question into a token budget. "
    "Call pack for a question; search then expand to pick places yourself. A chunk sent in "
    "full is not sent again in this session (pack names it as already in context)."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False,
                             open_world_hint=False)

T = TypeVar("T")


# ------------------------------------------------------------------ the index
class LiveIndex:
    """The roots' ``Packer``, loaded once in the background and kept fresh.

    Every use goes through ``run``, under one lock: a refresh updates the index in place,
    so no query may read it meanwhile. With a watcher, a change is re-read in the
    background as soon as it is seen (an agent's next call usually comes seconds after its
    edit); a call that finds the index still stale refreshes it first.
    """

    def __init__(self, paths: Sequence[str], settings: Settings, watch: bool = True) -> None:
        self.paths = [os.fspath(p) for p in paths]
        self.settings = settings
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._stale = threading.Event()  # set by the watcher; always set without one
        self._wake = threading.Event()  # the watcher saw a change: refresh in the background
        self._stop = threading.Event()
        self._packer: Packer | None = None
        self._error: BaseException | None = None
        self.watching = False
        self.changes_seen = 0  # batches of changes the watcher reported
        threading.Thread(target=self._load, name="contextpack-index", daemon=True).start()
        if watch:
            self.watching = self._watch()
        if not self.watching:
            self._stale.set()

    def _load(self) -> None:
        try:
            sources: Any = self.paths[0] if len(self.paths) == 1 else [Path(p)
                                                                      for p in self.paths]
            self._packer = Packer(sources, self.settings)
        except BaseException as exc:  # noqa: BLE001 - handed to every call that waits
            self._error = exc
        finally:
            self._ready.set()
        if self._packer is not None:
            _warm_up(self._packer)
            self._prepare()

    def _watch(self) -> bool:
        try:
            from watchfiles import DefaultFilter, watch
        except ImportError:
            return False
        # Our own cache writes must not mark the index stale.
        ignore = DefaultFilter(ignore_dirs=(*DefaultFilter.ignore_dirs, ".contextpack"))

        def loop() -> None:
            try:
                for _ in watch(*self.paths, watch_filter=ignore, stop_event=self._stop,
                               debounce=50, step=20, raise_interrupt=False):
                    self._stale.set()
                    self._wake.set()
                    self.changes_seen += 1
            except Exception:  # noqa: BLE001 - fall back to a stat pass per call
                log.warning("contextpack: the file watcher stopped; checking files per call")
                self.watching = False
                self._stale.set()

        threading.Thread(target=loop, name="contextpack-watch", daemon=True).start()
        threading.Thread(target=self._refresh_in_background, name="contextpack-refresh",
                         daemon=True).start()
        return True

    def _refresh_in_background(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(timeout=0.5):
                continue
            self._wake.clear()
            self._ready.wait()
            if self._packer is None:
                continue
            with self._lock:
                if self._stale.is_set():
                    self._stale.clear()
                    try:
                        self._packer.refresh(in_memory=True)
                    except Exception:  # noqa: BLE001 - the next call refreshes and reports it
                        self._stale.set()
                        continue
                    self._prepare_locked()

    def _prepare(self) -> None:
        with self._lock:
            self._prepare_locked()

    def _prepare_locked(self) -> None:
        """What the next call and the next update would make first, made now, off the
        calls' path (the lock is held: the tables live on the index)."""
        assert self._packer is not None
        try:
            self._packer.prepare()
        except Exception:  # noqa: BLE001 - only a head start; queries make what they need
            log.debug("contextpack: preparing the index failed", exc_info=True)

    def run(self, work: Callable[[Packer], T]) -> T:
        """``work`` on an up-to-date packer, under the lock."""
        if not self._ready.wait(timeout=LOAD_WAIT_S):
            raise ToolError(f"the index of {', '.join(self.paths)} is still being built (the "
                            "first run on a large repository takes minutes); call again "
                            "shortly, or run `contextpack index PATH` before starting the server")
        if self._error is not None:
            raise self._error
        assert self._packer is not None
        with self._lock:
            if self._stale.is_set():
                if self.watching:  # a change during the refresh sets it again
                    self._stale.clear()
                try:
                    self._packer.refresh(in_memory=True)
                except BaseException:
                    self._stale.set()  # a half-done update is redone by the next call
                    raise
            return work(self._packer)

    def close(self) -> None:
        self._stop.set()


def _warm_up(packer: Packer) -> None:
    """Load what the first update would otherwise load (the secret scanner's plugins,
    the parser, the embedder's table): seconds, once, off the first edit's path."""
    from .analyze import analyze
    from .types import SourceFile, digest

    text = 'TOKEN = "not-a-secret"\n\n\ndef warm(x):\n    return x\n'
    try:
        analyze(SourceFile("warm.py", text, "python", digest(text), len(text)),
                redact=packer.settings.redact)
        if packer.embedder is not None:
            packer.embedder.embed_documents(["def warm(x): return x"])
    except Exception:  # noqa: BLE001 - only a head start; the real update reports errors
        log.debug("contextpack: warm-up failed", exc_info=True)


# ------------------------------------------------------------------ results
class PackInfo(BaseModel):
    tokens: int
    budget: int
    items: int
    already_in_context: int = Field(description="chunks left out: sent earlier in full")
    note: str = ""


class Place(BaseModel):
    path: str
    start_line: int
    end_line: int
    kind: str
    symbol: str
    score: float = 0.0
    tokens: dict[str, int] = Field(description="cost of the full and skeleton views")
    in_context: bool = Field(False, description="sent in full earlier this session")


class SearchResult(BaseModel):
    hits: list[Place]


class Expanded(BaseModel):
    path: str
    chunks: list[Place]
    tokens: int
    truncated: bool = False


class Outline(BaseModel):
    tokens: int
    members: list[Place] = []


class Related(BaseModel):
    definitions: list[Place]
    callers: list[Place]
    callees: list[Place]


# ------------------------------------------------------------------ the server
class Server:
    """The tools and resources over one ``LiveIndex``, with a session per client."""

    def __init__(self, paths: Sequence[str], settings: Settings | None = None,
                 watch: bool = True) -> None:
        self.live = LiveIndex(paths, settings or Settings(), watch)
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self.app: MCPServer[Any] = MCPServer("contextpack", instructions=INSTRUCTIONS,
                                             log_level="WARNING")
        self._add_tools()
        self._add_resources()

    # -------------------------------------------------------------- sessions
    def session(self, ctx: Context | None) -> Session | None:
        """The session of the client making this call; None when it has none (HTTP
        without a session id)."""
        headers = ctx.headers if ctx is not None else None
        if headers is None:
            key = _DEFAULT_SESSION  # stdio, in-process: one client per server
        else:
            sid = headers.get("mcp-session-id")
            if not sid:
                return None
            key = f"http:{sid}"
        with self._sessions_lock:
            held = self._sessions.pop(key, None) or Session()
            self._sessions[key] = held
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
            return held

    # -------------------------------------------------------------- tools
    def _add_tools(self) -> None:
        app = self.app
        app.add_tool(self.pack, annotations=_READ_ONLY, description=(
            "The code and docs most relevant to a question, fitted into `budget` tokens "
            f"(default {TOOL_BUDGET:,}; over {HOST_RESULT_LIMIT:,} may exceed the host's "
            "tool-result limit). Chunks sent in full earlier in this session are listed, "
            "not repeated; fresh=true resends. include/exclude: globs like '*.py', 'tests/'."))
        app.add_tool(self.search, annotations=_READ_ONLY, description=(
            "Ranked places for a query, without bodies: path, lines, symbol, kind, score "
            "and the tokens of each view."))
        app.add_tool(self.expand, annotations=_READ_ONLY, description=(
            "The full code of a symbol (with a class's methods) or of a line range "
            "('120-140') in one file."))
        app.add_tool(self.outline, annotations=_READ_ONLY, description=(
            "No path: a map of the repository (its most central code). A path: that "
            "file's functions, classes and sections with their lines."))
        app.add_tool(self.related, annotations=_READ_ONLY, description=(
            "Callers and callees of a symbol, from the code's reference graph."))

    def pack(self, query: str, budget: int = TOOL_BUDGET,
             include: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
             format: Literal["markdown", "json", "xml"] = "markdown", fresh: bool = False,
             ctx: Context | None = None) -> Annotated[CallToolResult, PackInfo]:
        note = ""
        if budget > HOST_RESULT_LIMIT:
            note = (f"budget {budget:,} is over {HOST_RESULT_LIMIT:,} tokens, the usual limit "
                    "of one tool result (Claude Code: MAX_MCP_OUTPUT_TOKENS).")
        session = self.session(ctx)

        def work(packer: Packer) -> Any:
            return packer.pack(query, budget, format, session=session, fresh=fresh,
                               include=include, exclude=exclude)

        result = _tool(lambda: self.live.run(work))
        info = PackInfo(tokens=result.tokens, budget=result.budget, items=len(result.items),
                        already_in_context=len(result.already_sent), note=note)
        return CallToolResult(content=[TextContent(type="text", text=result.text)],
                              structured_content=info.model_dump())

    def search(self, query: str, limit: int = 20, ctx: Context | None = None) -> SearchResult:
        if not 1 <= limit <= 200:
            raise ToolError(f"limit {limit} is out of range; pass 1 to 200")
        if not query.strip():
            raise ToolError("query is empty; say what to look for (outline maps the repository)")
        session = self.session(ctx)

        def work(packer: Packer) -> SearchResult:
            sent = session.sent_rows(packer.index) if session is not None else frozenset()
            return SearchResult(hits=[_place(h, h.row in sent)
                                      for h in packer.search(query, limit)])

        return _tool(lambda: self.live.run(work))

    def expand(self, path: str, symbol: str = "", lines: str = "",
               ctx: Context | None = None) -> Annotated[CallToolResult, Expanded]:
        if bool(symbol.strip()) == bool(lines.strip()):
            raise ToolError("give either symbol (e.g. 'QuerySet.bulk_create') or lines "
                            "(e.g. '120-140'), not both or neither")
        session = self.session(ctx)

        def work(packer: Packer) -> tuple[str, Expanded]:
            index = packer.index
            name, f = _file(packer, path)
            rows = navigate.chunks_at(index, f, symbol, lines)
            if not rows:
                what = f"symbol {symbol!r}" if symbol.strip() else f"lines {lines!r}"
                names = sorted({index.symbols[r] for r in index.chunks_of_file(f)} - {""})
                hint = f"; its symbols: {', '.join(names[:20])}" if names else ""
                raise ToolError(f"{name} has no {what}{hint}")
            text, shown, truncated = _expanded(packer, rows)
            if session is not None:
                session.record(shown, index)
            return text, Expanded(path=name, chunks=[_place(navigate.hit(index, r)) for r in
                                                     rows[: len(shown)]],
                                  tokens=packer.tokenizer.count(text), truncated=truncated)

        text, info = _tool(lambda: self.live.run(work))
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=info.model_dump())

    def outline(self, path: str = "", budget: int = OUTLINE_BUDGET
                ) -> Annotated[CallToolResult, Outline]:
        def work(packer: Packer) -> tuple[str, Outline]:
            if not path.strip():
                pack = packer.pack("", budget)
                return pack.text, Outline(tokens=pack.tokens)
            name, f = _file(packer, path)
            members = [_place(h) for h in navigate.members(packer.index, f)]
            lines = [f"## {name}", ""] + [
                f"L{m.start_line}-{m.end_line} {m.kind} {m.symbol} ({m.tokens['full']} tokens)"
                .replace("  ", " ") for m in members]
            text = "\n".join(lines) + "\n"
            return text, Outline(tokens=packer.tokenizer.count(text), members=members)

        text, info = _tool(lambda: self.live.run(work))
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=info.model_dump())

    def related(self, symbol: str, limit: int = 30) -> Related:
        def work(packer: Packer) -> Related:
            index = packer.index
            rows = navigate.definitions(index, symbol)
            if not rows:
                raise ToolError(f"no definition of {symbol!r} in the index; search finds "
                                "symbols by words")
            callers, callees = navigate.related(index, rows)
            return Related(definitions=[_place(navigate.hit(index, r)) for r in rows[:limit]],
                           callers=[_place(navigate.hit(index, r)) for r in callers[:limit]],
                           callees=[_place(navigate.hit(index, r)) for r in callees[:limit]])

        return _tool(lambda: self.live.run(work))

    # -------------------------------------------------------------- resources
    def _add_resources(self) -> None:
        """Each configured snapshot file (``contextpack snapshot``) of each root, read
        from disk when asked for."""
        from .config import load_config
        from .render import renderer_for

        for root in self.live.paths:
            if not os.path.isdir(root):
                continue
            try:
                specs = load_config(root).snapshots
            except ContextpackError as exc:
                log.warning("contextpack: no snapshot resources for %s: %s", root, exc)
                continue
            prefix = os.path.basename(os.path.realpath(root)) if len(self.live.paths) > 1 else ""
            for spec in specs:
                uri = f"contextpack://snapshot/{prefix + '/' if prefix else ''}{spec.output}"
                mime = renderer_for(spec.format).media_type
                what = f"query: {spec.query}" if spec.query else "the repository map"
                self.app.resource(uri, name=spec.output, mime_type=mime,
                                  description=f"contextpack snapshot ({what})")(
                    _snapshot_reader(Path(root), spec.output))


def _snapshot_reader(root: Path, output: str) -> Callable[[], str]:
    def read() -> str:
        target = root / output
        try:
            real = target.resolve()
            if not real.is_relative_to(root.resolve()):
                raise ResourceError(f"{output} leads outside {root}")
            return real.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ResourceError(f"{output} is not written yet: run `contextpack snapshot "
                                f"{root}`") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ResourceError(f"cannot read {output}: {exc}") from None

    return read


def _tool(action: Callable[[], T]) -> T:
    """The library's errors as tool errors, one line each."""
    try:
        return action()
    except ContextpackError as exc:
        # the library speaks the CLI's option names; here they are arguments
        raise ToolError(str(exc).replace("pass --budget", "pass a budget of")) from exc


def _file(packer: Packer, path: str) -> tuple[str, int]:
    """The index's name and number of the file ``path`` names; an error says which files
    come close."""
    name = packer.index_path(path)
    f = navigate.file_row(packer.index, name)
    if f is None:
        import difflib

        close = difflib.get_close_matches(name, packer.index.paths, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ToolError(f"{name!r} is not an indexed file (paths are relative to the root, "
                        f"as pack and search print them){hint}")
    return name, f


def _place(h: navigate.Hit, in_context: bool = False) -> Place:
    return Place(path=h.path, start_line=h.start_line, end_line=h.end_line, kind=h.kind,
                 symbol=h.symbol, score=round(h.score, 4),
                 tokens={"full": h.full_tokens, "skeleton": h.skeleton_tokens},
                 in_context=in_context)


def _expanded(packer: Packer, rows: list[int]) -> tuple[str, list[Any], bool]:
    """The chunks in full as markdown, as many as fit in ``EXPAND_LIMIT`` tokens (at
    least one), and whether some were left out."""
    from dataclasses import replace

    from .redact import Scrubber
    from .render import MARKDOWN, blocks
    from .types import Item

    index = packer.index
    scrub = Scrubber.of(index.redactions)  # secrets found elsewhere, as packs scrub them
    items: list[Item] = []
    spent = 0
    for r in rows:
        cost = int(index.tok_full[r])
        if items and spent + cost > EXPAND_LIMIT:
            break
        chunk = index.chunk(r)
        if scrub is not None:
            chunk = replace(chunk, text=scrub.text(chunk.text),
                            skeleton=scrub.text(chunk.skeleton), context=scrub.text(chunk.context))
        items.append(Item(chunk, "full", cost, 0.0, metadata={"row": r}))
        spent += cost
    text = "".join(blocks(items, MARKDOWN)).rstrip("\n") + "\n"
    truncated = len(items) < len(rows)
    if truncated:
        nxt = index.chunk(rows[len(items)])
        text += (f"\n(cut at about {EXPAND_LIMIT:,} tokens; more from line {nxt.start_line}: "
                 f"expand lines '{nxt.start_line}-{index.chunk(rows[-1]).end_line}')\n")
    return text, items, truncated


def serve(paths: Sequence[str], settings: Settings | None = None, http: str | None = None,
          watch: bool = True) -> None:
    """Serve ``paths`` over stdio, or over streamable HTTP at ``http`` ("HOST:PORT")."""
    server = Server(paths, settings, watch)
    try:
        if http is None:
            server.app.run()
        else:
            host, port = parse_address(http)
            server.app.run("streamable-http", host=host, port=port)
    finally:
        server.live.close()


def parse_address(text: str) -> tuple[str, int]:
    """"HOST:PORT" (or ":PORT", on 127.0.0.1) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        from .errors import ConfigError

        raise ConfigError(f"--http wants HOST:PORT (e.g. 127.0.0.1:8765), not {text!r}", text)
    return host.strip("[]") or "127.0.0.1", int(port)
