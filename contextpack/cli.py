"""The command line: parse options, call the library, print. Nothing else lives here.

Heavy modules (numpy, tiktoken, tree-sitter, faiss, torch) are imported inside the
commands, so ``contextpack --help`` starts instantly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import click

from .errors import ContextpackError
from .models import DEFAULT_BUDGET
from .render import FORMATS

# A copy of embed.EMBEDDERS, whose module imports numpy: --help must not pay for it.
# tests/test_exported_members.py pins the copy to its home.
EMBEDDERS = ("static", "minilm", "none")


class StderrProgress:
    """Progress on stderr for stages that run over a second: counts, rate and ETA.

    On a terminal one line is rewritten in place; elsewhere (CI logs) each stage prints
    one summary line when it ends.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.stage = ""
        self.started = 0.0
        self.last_draw = 0.0
        self.last: tuple[int, int] = (0, 0)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if stage != self.stage:
            self.finish()
            self.stage, self.started, self.last_draw = stage, now, 0.0
        self.last = (done, total)
        elapsed = now - self.started
        if self.tty and elapsed > 1.0 and now - self.last_draw > 0.2:
            self.last_draw = now
            rate = done / elapsed if elapsed else 0.0
            eta = (total - done) / rate if rate else 0.0
            sys.stderr.write(f"\r{stage}: {done:,}/{total:,} ({rate:,.0f}/s, ETA {eta:,.0f} s)   ")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.quiet or not self.stage:
            return
        elapsed = time.monotonic() - self.started
        done, total = self.last
        if elapsed > 1.0:
            rate = done / elapsed if elapsed else 0.0
            end = "\r" if self.tty else ""
            sys.stderr.write(f"{end}{self.stage}: {done:,}/{total:,} in {elapsed:.1f} s "
                             f"({rate:,.0f}/s)          \n")
        self.stage = ""


def _run(action: Callable[[], Any]) -> Any:
    """Turn the library's errors into one clear line and exit status 1."""
    try:
        return action()
    except ContextpackError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--include", multiple=True, metavar="GLOB",
                     help="Only files matching this glob (repeatable), e.g. '*.py'.")(f)
    f = click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Leave out files matching this glob (repeatable), e.g. 'tests/'.")(f)
    f = click.option("--include-generated", is_flag=True,
                     help="Also pack build output: dist/ and build/ folders, bundles, files "
                          "ending in a sourceMappingURL, compiled twins of TypeScript; and "
                          "translation catalogs (.po, .pot).")(f)
    f = click.option("--include-vendored", is_flag=True,
                     help="Also pack vendored folders: vendor/, third_party/, node_modules/.")(f)
    f = click.option("--no-gitignore", is_flag=True,
                     help="Ignore .gitignore and .git/info/exclude (.contextpackignore "
                          "still applies); in a git checkout tracked files are packed anyway.")(f)
    f = click.option("--max-file-size", type=click.IntRange(min=1), default=1_000_000,
                     show_default=True, metavar="BYTES", help="Skip larger files.")(f)
    f = click.option("--encoding", default=None,
                     help="tiktoken encoding (or model name, e.g. gpt-4o) to count tokens with "
                          "[default: the --model's, else cl100k_base].")(f)
    f = click.option("--tokenizer", metavar="PATH",
                     help="Count with a Hugging Face tokenizer.json instead of --encoding.")(f)
    f = click.option("--no-cache", is_flag=True, help="Neither read nor write the index cache.")(f)
    f = click.option("--cache-dir", metavar="DIR",
                     help="Cache folder (default: PATH/.contextpack, or "
                          "$CONTEXTPACK_CACHE_DIR).")(f)
    f = click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes.")(f)
    f = click.option("--no-redact", is_flag=True,
                     help="Keep secrets (API keys, tokens, passwords, private keys) in the "
                          "output instead of replacing them with [REDACTED:kind].")(f)
    f = click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")(f)
    return f


def embedder_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--embedder, for the commands that rank (stats only counts: it embeds nothing)."""
    return click.option("--embedder", type=click.Choice(EMBEDDERS), default="static",
                        show_default=True,
                        help="static: MiniLM distilled to a token table (fast); minilm: the "
                             "full model via sentence-transformers (slow on CPU; needs the "
                             "minilm extra); none: lexical only.")(f)


def _settings(include: tuple[str, ...], exclude: tuple[str, ...], max_file_size: int,
              encoding: str, tokenizer: str | None, no_cache: bool,
              cache_dir: str | None, jobs: int | None, no_redact: bool = False,
              include_generated: bool = False, include_vendored: bool = False,
              no_gitignore: bool = False, embedder: str = "none") -> Any:
    # embedder "none" where the command has no --embedder (stats counts, never ranks)
    from .api import Settings
    from .sources import SourceOptions

    return Settings(
        encoding=encoding,
        tokenizer=tokenizer,
        embedder=embedder,
        sources=SourceOptions(include=include, exclude=exclude, max_file_bytes=max_file_size,
                              include_generated=include_generated,
                              include_vendored=include_vendored,
                              use_gitignore=not no_gitignore),
        cache_dir=cache_dir,
        use_cache=not no_cache,
        jobs=jobs,
        redact=not no_redact,
    )


class OutputPath(click.Path):
    """A file to write: a NUL in the name is a usage error, not a traceback."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\0" in value:
            self.fail(f"{value!r} holds a NUL character; name a file", param, ctx)
        return super().convert(value, param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="contextpack")
def main() -> None:
    """Fit the most relevant code and docs of a repository into a token budget."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-b", "--budget", type=int, default=None,
              help="Hard limit on output tokens [default: the --model's context window, "
                   f"else {DEFAULT_BUDGET}].")
@click.option("-m", "--model", default=None, metavar="NAME",
              help="Size the budget to this model's context window less room for its answer, "
                   "count with its encoding and estimate the cost (e.g. gemini-2.5-pro; "
                   "`contextpack models` lists them).")
@click.option("--model-window", type=click.IntRange(min=1), default=None, metavar="TOKENS",
              help="Declare the --model's context window (a model the table lacks, or an "
                   "override).")
@click.option("--model-price", default=None, metavar="USD[@UP_TO],...",
              help="Declare the --model's input price in US dollars per million tokens, e.g. "
                   "1.25 or, with a long-prompt tier, 1.25@200000,2.50.")
@click.option("--usage-log", metavar="FILE", default=None,
              help="Append one JSON line per pack (time, query hash, tokens, cost) to FILE "
                   "[default: $CONTEXTPACK_USAGE_LOG].")
@click.option("--query", default=None, help="What the context is for.")
@click.option("--query-file", type=click.File("rb"), help="Read the query from a file.")
@click.option("-f", "--format", type=click.Choice(FORMATS), default="markdown",
              show_default=True)
@click.option("-o", "--output", type=OutputPath(dir_okay=False, writable=True),
              help="Write here, not stdout.")
@click.option("--reserve", type=click.IntRange(min=0), default=None,
              help="Tokens to keep free for the model's answer (taken off the budget) "
                   "[default: the --model's output reserve when the budget is its window, "
                   "else 0].")
@click.option("--weight", "weights", multiple=True, metavar="NAME=VALUE",
              help="Override a ranking weight (repeatable), e.g. --weight graph=0.5; the "
                   "names are those of contextpack.rank.Weights.")
@click.option("--session", "session_file", metavar="FILE", default=None,
              help="A JSON file recording what earlier packs of this session sent in full: "
                   "those chunks are left out (named as already in context), and this "
                   "pack's are added. Created if missing.")
@click.option("--fresh", is_flag=True, help="With --session: forget it first, resend all.")
@click.option("--explain", is_flag=True,
              help="On stderr: why each item was packed (its signals and score) and why the "
                   "best of the rest were not.")
@click.option("--report", "report", type=click.Path(dir_okay=False, writable=True),
              metavar="FILE.html",
              help="Also write an HTML report: a treemap of where the tokens are and what "
                   "went into the pack, the budget by view, each item's reason.")
@click.option("--list-skipped", is_flag=True,
              help="On stderr: every file left out before ranking, with the reason.")
@source_options
@embedder_option
def build(paths: tuple[str, ...], budget: int | None, model: str | None,
          model_window: int | None, model_price: str | None, usage_log: str | None,
          query: str | None, query_file: Any, format: str, output: str | None,
          reserve: int | None, weights: tuple[str, ...], session_file: str | None,
          fresh: bool, explain: bool, report: str | None, list_skipped: bool,
          quiet: bool, **opts: Any) -> None:
    """Pack the parts of PATHS most relevant to a query into BUDGET tokens."""
    if query is not None and query_file is not None:
        raise click.UsageError("give --query or --query-file, not both")
    if fresh and session_file is None:
        raise click.UsageError("--fresh needs --session FILE")
    text = _query_text(query_file) if query_file is not None else (query or "")

    def work() -> None:
        from dataclasses import replace
        from pathlib import Path

        from .api import Packer
        from .session import Session

        session = Session(session_file) if session_file else None  # a bad file fails first
        progress = StderrProgress(quiet)
        # Path objects: several roots are paths, never document text.
        sources = paths[0] if len(paths) == 1 else [Path(p) for p in paths]
        resolved = _model(model, model_window, model_price, paths) \
            if model or model_window else None
        settings = replace(_settings(**opts), model=resolved, usage_log=usage_log,
                           weights=_weights(weights))
        packer = Packer(sources, settings, progress, write_behind=True)
        progress.finish()
        result = packer.pack(text, budget, format, reserve, session=session, fresh=fresh)
        _write(result.text, output)
        if report:
            _write(result.report_html(_title(paths)), report)
            if not quiet:
                click.echo(f"wrote {report}", err=True)
        if explain:
            from .report import explain as explain_text

            click.echo(explain_text(result), err=True, nl=False)
        if list_skipped:
            for s in result.skipped:
                click.echo(f"skipped {s.path}: {s.reason}", err=True)
        if not quiet and output:
            click.echo(f"wrote {output}: {result.tokens:,} tokens of {result.budget:,}", err=True)
        cost = result.stats.get("cost")
        if not quiet and cost and cost.get("pack_usd") is not None:
            click.echo(f"{cost['model']}: about ${cost['pack_usd']:.4f} of input for the pack vs "
                       f"${cost['sources_usd']:.4f} for all {result.source_tokens:,} tokens "
                       f"(prices of {cost['prices_as_of']}{_tier_note(cost)}; estimates)",
                       err=True)
        if not quiet and result.stats.get("redactions"):
            from .redact import summary

            click.echo(summary(result.stats["redactions"]), err=True)

    _run(work)


def _query_text(fh: Any) -> str:
    """A query file as text: UTF-8 (a BOM dropped); binary content is a usage error."""
    data = fh.read(1_000_001)
    name = getattr(fh, "name", "-")
    if len(data) > 1_000_000:
        raise click.BadParameter(f"{name!r} is over 1 MB; a query is a few paragraphs",
                                 param_hint="--query-file")
    try:
        text: str = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{name!r} is not UTF-8 text (byte {exc.start} is "
                                 f"0x{data[exc.start]:02x}); save it as UTF-8",
                                 param_hint="--query-file") from None
    if "\0" in text:
        raise click.BadParameter(f"{name!r} holds NUL bytes: a binary file, not a query",
                                 param_hint="--query-file")
    return text


def _tier_note(cost: Mapping[str, Any]) -> str:
    """Which long-prompt tiers the estimate used, when the model has them."""
    notes = []
    for key, what in (("tier", "the pack"), ("sources_tier", "all")):
        tier = cost.get(key) or {}
        if tier.get("above"):
            notes.append(f"{what} at the rate above {tier['above']:,} tokens, "
                         f"${tier['usd_per_million_input_tokens']:.2f}/M")
    return "; " + ", ".join(notes) if notes else ""


def _model(name: str | None, window: int | None, price: str | None,
           paths: tuple[str, ...]) -> Any:
    """The model named, as the shipped table, the configuration under the first folder
    given (``[tool.contextpack.models]``) and the flags make it."""
    import os

    from .config import model_table
    from .models import declare_model

    table = model_table(next((p for p in paths if os.path.isdir(p)), None))
    return declare_model(table, name or "custom", window,
                         _price(price) if price is not None else None)


def _price(text: str) -> Any:
    """``1.25`` or ``1.25@200000,2.50`` (a rate up to a prompt length, then the next)."""
    tiers: list[dict[str, Any]] = []
    try:
        for part in text.split(","):
            usd, sep, up_to = part.strip().partition("@")
            tiers.append({"usd": float(usd), **({"up_to": int(up_to)} if sep else {})})
    except ValueError:
        raise click.BadParameter(f"expected USD or USD@UP_TO,USD (e.g. 1.25@200000,2.50), "
                                 f"not {text!r}", param_hint="--model-price") from None
    return tiers[0]["usd"] if len(tiers) == 1 and "up_to" not in tiers[0] else tiers


def _weights(pairs: tuple[str, ...]) -> Any:
    from .rank import Weights

    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE with a number, not {pair!r}",
                                     param_hint="--weight")
    return Weights.from_mapping(values)


def _title(paths: tuple[str, ...]) -> str:
    """The sources' names for a report's heading (base names, never absolute paths)."""
    import os

    return ", ".join(os.path.basename(os.path.abspath(p)) for p in paths)


def _write(text: str, output: str | None) -> None:
    if output:
        from .output import write_output

        write_output(output, text.encode("utf-8", "replace"))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


@main.command()
@click.argument("path", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print what was done as JSON on stdout: counts, cache state and the "
                   "seconds each stage took (scan, read, map: analyze, count and embed in "
                   "worker processes, rows, assemble, write).")
@click.option("--engine", type=click.Choice(("local", "dask")), default="local",
              show_default=True,
              help="Where the per-file work runs: this machine's cores, or a Dask cluster "
                   "(pip install 'contextpack[dask]'; see docs/scaling.md).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="The Dask scheduler for --engine dask (tcp://host:8786).")
@source_options
@embedder_option
def index(path: str, as_json: bool, engine: str, scheduler: str | None, quiet: bool,
          **opts: Any) -> None:
    """Build or refresh PATH's index ahead of time."""

    def work() -> None:
        import dataclasses

        from .api import Packer
        from .index.engine import get_engine

        progress = StderrProgress(quiet)
        t0 = time.perf_counter()
        settings = dataclasses.replace(_settings(**opts), engine=get_engine(engine, scheduler))
        packer = Packer(path, settings, progress)
        progress.finish()
        ix = packer.index
        if as_json:
            import json

            stats = ix.stats
            seconds = {k[:-2]: round(float(v), 3) for k, v in stats.items() if k.endswith("_s")}
            seconds["total"] = round(time.perf_counter() - t0, 3)
            click.echo(json.dumps({
                "files": ix.n_files, "chunks": ix.n_chunks, "tokens": ix.total_tokens(),
                "cache": stats.get("cache", "cold"),
                "files_reindexed": stats.get("files_reindexed", 0), "seconds": seconds,
            }, sort_keys=True))
        if not quiet:
            click.echo(
                f"indexed {ix.n_files:,} files, {ix.n_chunks:,} chunks, "
                f"{ix.total_tokens():,} tokens in {time.perf_counter() - t0:.1f} s "
                f"({ix.stats.get('cache', 'cold')}, {ix.stats.get('files_reindexed', 0):,} files "
                "processed)",
                err=True,
            )

    _run(work)


@main.command()
@click.argument("path", type=click.Path(path_type=str))
@click.option("--depth", type=click.IntRange(min=0), default=2, show_default=True,
              help="Folder levels to show.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="Largest files to list.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, writable=True),
              metavar="FILE.html",
              help="Also write an HTML report: a treemap of tokens by folder and file, the "
                   "largest files and folders, vendored and generated mass.")
@source_options
def stats(path: str, depth: int, top: int, html_file: str | None, quiet: bool,
          **opts: Any) -> None:
    """Tokens per folder and file, and how often PATH overflows common context sizes."""

    def work() -> None:
        from .api import Packer
        from .report import stats_html, token_tree

        progress = StderrProgress(quiet)
        packer = Packer(path, _settings(**opts), progress)
        progress.finish()
        click.echo(token_tree(packer.index, depth, top), nl=False)
        if html_file:
            page = stats_html(packer.index, packer.source_tokens(), _title((path,)))
            _write(page, html_file)
            if not quiet:
                click.echo(f"wrote {html_file}", err=True)

    _run(work)


@main.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="The table as JSON.")
def models(path: str, as_json: bool) -> None:
    """List the models known (shipped, and declared in PATH's configuration), with the
    table's date and sources."""

    def work() -> None:
        from .config import model_table

        table = model_table(path)
        click.echo(_models_text(table, as_json), nl=False)

    _run(work)


def _models_text(table: Any, as_json: bool) -> str:
    from .models import default_table

    rows = table.rows()
    if as_json:
        import json

        return json.dumps({"as_of": table.as_of, "sources": dict(table.sources),
                           "margins": dict(table.margins), "models": rows}, indent=2) + "\n"
    lines = [f"{'model':<24} {'window':>10} {'reserve':>8}  {'input $/M tokens':<22} "
             "counted with"]
    for r in rows:
        tiers = r["usd_per_million_input_tokens"]
        price = "-" if not tiers else ", ".join(
            f"{t['usd']:g}" + (f" to {t['up_to'] // 1000}k" if t["up_to"] else "")
            for t in tiers) + (" (est.)" if r["price_estimate"] else "")
        lines.append(f"{r['name']:<24} {r['window']:>10,} {r['reserve']:>8,}  {price:<22} "
                     f"{r['counted_with']}")
    shipped = default_table().models
    own = sorted(m.name for m in table.models.values() if shipped.get(m.name) is not m)
    lines.append("")
    lines.append(f"Windows and list prices as of {table.as_of} (estimates; check the "
                 "provider's page). Sources:")
    lines += [f"  {k}: {v}" for k, v in sorted(table.sources.items())]
    if own:
        lines.append(f"From the project's configuration: {', '.join(own)}.")
    lines.append("A long-prompt tier charges the whole prompt at its rate. Add or override "
                 'a model in [tool.contextpack.models."NAME"] or with --model-window and '
                 "--model-price.")
    return "\n".join(lines) + "\n"


@main.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 naming the snapshots that are out of date.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=str),
              help="Read this file instead of PATH's .contextpack.toml or pyproject.toml.")
@click.option("--cache-dir", metavar="DIR",
              help="Cache folder (default: PATH/.contextpack, or $CONTEXTPACK_CACHE_DIR).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or messages on stderr.")
def snapshot(path: str, check: bool, config_file: str | None, cache_dir: str | None,
             quiet: bool) -> None:
    """Write the context snapshots PATH's configuration describes (a pre-commit hook).

    Exits 1 when a snapshot was out of date (rewritten, or with --check only named), so a
    commit stops until the refreshed files are added; 0 when all were current.
    """

    def work() -> Any:
        from .snapshot import snapshot as take

        # A hook's output is captured and shown only on failure: progress there is noise.
        progress = StderrProgress(quiet or not sys.stderr.isatty())
        results = take(path, check=check, config_file=config_file, cache_dir=cache_dir,
                       progress=progress)
        progress.finish()
        return results

    results = _run(work)
    stale = [r for r in results if r.stale]
    for r in stale:  # stderr, even with -q in --check: a failure must say what failed
        if r.written and not quiet:
            click.echo(f"contextpack: updated {r.output} ({r.tokens:,} of {r.budget:,} "
                       "tokens)", err=True)
        elif not r.written:
            click.echo(f"contextpack: {r.output} is out of date", err=True)
    if stale:
        if check:
            click.echo("run `contextpack snapshot` to refresh it, then add it to the commit",
                       err=True)
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=str))
@click.option("--http", "address", metavar="HOST:PORT", default=None,
              help="Serve streamable HTTP at HOST:PORT (path /mcp) instead of stdio.")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Watch the files for changes (watchfiles); --no-watch stats the tree on "
                   "every call instead.")
@source_options
@embedder_option
def mcp(paths: tuple[str, ...], address: str | None, watch: bool, quiet: bool,
        **opts: Any) -> None:
    """Serve PATHS (default: the current folder) to coding agents over MCP.

    Tools: pack, search, expand, outline, related; snapshot files as resources. Needs
    the mcp extra: pip install 'contextpack[mcp]'.
    """

    def work() -> None:
        try:
            from .serve import parse_address, serve
        except ImportError as exc:
            raise click.ClickException(f"the MCP server needs the mcp extra ({exc.name} is "
                                       "missing): pip install 'contextpack[mcp]'") from exc
        if address is not None:
            parse_address(address)  # a bad address fails before any indexing
        serve(list(paths) or ["."], _settings(**opts), address, watch)

    _run(work)


if __name__ == "__main__":  # pragma: no cover
    main()
