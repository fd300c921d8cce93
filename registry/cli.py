"""The `ropedex` command line: the one place that reads argv, the environment and writes stdout.

Heavy modules (torch, huggingface_hub, transformers) are imported inside the commands that need
them, so `ropedex --help` starts at once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from registry.db import DEFAULT_DB
from registry.errors import USER_ERRORS
from registry.output import output_options
from yarn_core.conventions import CONVENTIONS  # pure Python: no torch at --help

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CatalogGroup(click.Group):
    """Converts every user-facing `CatalogError` into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=CatalogGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="ropedex")
@click.option(
    "--db",
    envvar="ROPEDEX_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Catalog: a SQLite path or any SQLAlchemy URL (env ROPEDEX_DB).",
)
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """ropedex: open-weight models and how each one encodes position."""
    ctx.obj = {"db": db}


def emit_jsonl(rows: list[dict[str, Any]]) -> None:
    """One JSON object per line on stdout."""
    for row in rows:
        click.echo(json.dumps(row, sort_keys=False, default=str))


def emit_rows(
    rows: list[dict[str, Any]],
    *,
    json_: bool,
    show: Callable[[list[dict[str, Any]]], None],
    failed: bool,
) -> None:
    """JSON Lines or the command's readable form; exit status 1 when an input failed."""
    if json_:
        emit_jsonl(rows)
    else:
        show(rows)
    if failed:
        raise SystemExit(1)


# --- position-encoding tagger: `ropedex tag`, `ropedex tags` -----------------------------------


@cli.command(name="tag")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "json_", is_flag=True, help="One JSON object per input (JSON Lines).")
def tag_paths(paths: tuple[str, ...], json_: bool) -> None:
    """Tag config.json files with their position encoding.

    Exit status 1 when any input could not be read or parsed.

    \b
    Example:
        ropedex tag path/to/config.json --json
    """
    from scrapers.tagger import tag_file

    rows: list[dict[str, Any]] = []
    failed = False
    for path in paths:
        result, readable = tag_file(path)
        failed = failed or not readable
        rows.append({"path": path, **result.to_dict()})
    emit_rows(rows, json_=json_, show=_print_tag_table, failed=failed)


def _print_tag_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("path", "encoding", "theta", "rotary", "scaling", "factor", "context")
    for row in rows:
        context = "/".join(
            "-" if row[k] is None else str(row[k])
            for k in ("original_context", "declared_context", "effective_context")
        )
        table.add_row(
            row["path"],
            row["position_encoding"] + (f" ({row['reason']})" if row.get("reason") else ""),
            *("-" if row[k] is None else str(row[k]) for k in ("rope_theta", "rotary_dim")),
            *("-" if row[k] is None else str(row[k]) for k in ("scaling_type", "scaling_factor")),
            context,
        )
    Console(markup=False).print(table)


@cli.command(name="tags")
@click.option("--json", "json_", is_flag=True, help="One JSON object per tag (JSON Lines).")
def tags_list(json_: bool) -> None:
    """List the position-encoding vocabulary with a definition of each tag."""
    from scrapers.tagger.vocabulary import TAGS

    if json_:
        emit_jsonl([{"tag": tag, "definition": text} for tag, text in TAGS.items()])
        return
    for tag, text in TAGS.items():
        click.echo(f"{tag:24} {text}")


# --- catalog: ingest, query, show, sql, stats ------------------------------------------------


def _open(ctx: click.Context, *, create: bool = False, readonly: bool = False) -> Any:
    from registry.db import open_engine

    return open_engine(ctx.obj["db"], create=create, readonly=readonly)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:  # piped: do not fold cells to an assumed 80 columns
        console.width = 200
    return console


def _emit_rows(
    rows: list[dict[str, Any]],
    *,
    json_: bool,
    csv_: bool,
    table_columns: list[str] | None = None,
    formatters: dict[str, Any] | None = None,
    columns: list[str] | None = None,
) -> None:
    from registry.output import rows_table, to_csv, to_json

    if json_ and csv_:
        raise click.UsageError("Choose one of --json and --csv.")
    if json_:
        click.echo(to_json(rows))
    elif csv_:
        click.echo(to_csv(rows, columns), nl=False)
    elif not rows:
        click.echo("No rows.", err=True)
    else:
        _console().print(rows_table(rows, table_columns or columns, formatters=formatters))


@cli.command(name="ingest")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--batch-size", default=200, show_default=True, help="Configs per transaction.")
@click.option("--retag", is_flag=True, help="Also re-tag stored configs from an older tagger.")
@click.option("--json", "json_", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def catalog_ingest(
    ctx: click.Context, directory: Path, batch_size: int, retag: bool, json_: bool
) -> None:
    """Ingest every ORG/NAME/config.json (+ optional hub.json) under DIRECTORY.

    Bad files become recorded per-model errors; every good config still lands. Re-ingesting
    the same folder writes nothing new.

    \b
    Example:
        ropedex ingest hub-tree/
        ropedex --db other.db ingest hub-tree/ --json
    """
    from rich.progress import Progress

    from registry.db import session_factory
    from registry.output import safe_text, to_json
    from registry.retag import retag_all
    from registry.sync import check_tree_root, ingest_tree

    check_tree_root(directory)
    engine = _open(ctx, create=True)
    with Progress(console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int, _repo_id: str) -> None:
            bar.update(task, completed=done, total=total)

        summary = ingest_tree(engine, directory, batch_size=batch_size, progress=progress)
    retagged = 0
    if retag:
        with session_factory(engine)() as session:
            retagged = retag_all(session)
            session.commit()
    errors = [
        {"repo_id": e.repo_id, "status": e.status, "reason": e.reason, "detail": e.detail}
        for e in summary.errors
    ]
    if json_:
        out = {"run_id": summary.run_id, "total": summary.total, **summary.counts}
        click.echo(to_json({**out, "retagged": retagged, "errors": errors}))
        return
    for err in errors:
        text = f"{err['repo_id']}: {err['reason']}: {err['detail']}"
        click.echo(safe_text(text), err=True)
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    extra = f", retagged {retagged}" if retag else ""
    click.echo(f"Ingested {summary.total} folders (run {summary.run_id}): {counts}{extra}.")


@cli.command(name="query")
@click.option("--pe", multiple=True, help="Position-encoding tag, repeatable (rope-yarn...).")
@click.option("--family", help="Model family (llama, qwen, deepseek...).")
@click.option("--author", help="Hub organisation or user (case-insensitive).")
@click.option("--model-type", help="config.json model_type.")
@click.option("--min-context", help="Smallest effective context: 32768, 128k, 1M (k = 1024).")
@click.option("--scaling", help="RoPE scaling type (yarn, llama3, linear...) or none.")
@click.option("--verdict", help="Verifier verdict: pass, warn, fail or unverified.")
@click.option("--search", help="Substring of the repo id.")
@click.option(
    "--sort",
    default="downloads",
    show_default=True,
    help="downloads, likes, modified, repo_id, context, theta or factor; add :asc or :desc.",
)
@click.option("--limit", default=50, show_default=True, help="Rows to show; 0 for all.")
@click.option("--offset", default=0, help="Rows to skip.")
@output_options
@click.pass_context
def catalog_query(
    ctx: click.Context,
    pe: tuple[str, ...],
    family: str | None,
    author: str | None,
    model_type: str | None,
    min_context: str | None,
    scaling: str | None,
    verdict: str | None,
    search: str | None,
    sort: str,
    limit: int,
    offset: int,
    json_: bool,
    csv_: bool,
) -> None:
    """List models by position encoding, context, scaling and verdict.

    \b
    Example:
        ropedex query --pe rope-yarn --min-context 128k
        ropedex query --family qwen --sort context --json
        ropedex query --scaling llama3 --verdict fail --csv
    """
    from registry.db import session_factory
    from registry.formatting import fmt_tokens
    from registry.queries import ROW_KEYS, ModelFilter, parse_context, query_models

    filt = ModelFilter(
        pe=pe,
        family=family,
        author=author,
        model_type=model_type,
        min_context=parse_context(min_context) if min_context else None,
        scaling=scaling,
        verdict=verdict,
        search=search,
        sort=sort,
        limit=limit or None,
        offset=offset,
    )
    with session_factory(_open(ctx))() as session:
        rows = query_models(session, filt)
    shown = ["repo_id", "position_encoding", "rope_theta", "scaling_type", "scaling_factor"]
    shown += ["original_context", "effective_context", "verdict", "downloads"]
    ctx_fmt = dict.fromkeys(
        ("original_context", "effective_context"), functools.partial(fmt_tokens, missing="")
    )
    _emit_rows(
        rows,
        json_=json_,
        csv_=csv_,
        columns=list(ROW_KEYS),
        table_columns=shown,
        formatters=ctx_fmt,
    )
    if limit and len(rows) == limit and not (json_ or csv_):
        click.echo(f"First {limit} rows; --limit 0 shows all, --offset pages.", err=True)


@cli.command(name="show")
@click.argument("repo_id")
@click.option("--json", "json_", is_flag=True, help="Everything as one JSON object.")
@click.pass_context
def catalog_show(ctx: click.Context, repo_id: str, json_: bool) -> None:
    """Everything known about one model: facts, evidence, verdict and checks, history.

    \b
    Example:
        ropedex show deepseek-ai/DeepSeek-V3
        ropedex show openai/gpt-oss-20b --json
    """
    from registry.db import session_factory
    from registry.output import to_json
    from registry.queries import get_model

    with session_factory(_open(ctx))() as session:
        data = get_model(session, repo_id)
    if json_:
        click.echo(to_json(data))
        return
    for renderable in _show_parts(data):
        _console().print(renderable)


def _show_parts(data: dict[str, Any]) -> list[Any]:
    from registry.output import pairs_table, rows_table

    model, facts, verification = data["model"], data["facts"], data["verification"]
    keys = ["repo_id", "author", "family", "model_type", "status", "error", "downloads", "likes"]
    keys += ["license", "gated", "base_model", "last_modified", "sha"]
    parts: list[Any] = [pairs_table([(k, model[k]) for k in keys if model.get(k) is not None])]
    if facts is None:
        parts.append(pairs_table([("facts", "none (no good config stored yet)")]))
    else:
        skip = {"evidence", "warnings", "details", "rope_parameters", "per_layer"}
        pairs = [(k, v) for k, v in facts.items() if v is not None and k not in skip]
        parts.append(pairs_table(pairs, title="Position encoding"))
        evidence = [{"key": k, "value": v} for k, v in (facts["evidence"] or {}).items()]
        if evidence:
            parts.append(rows_table(evidence, title="Evidence"))
        for warning in facts["warnings"] or []:
            parts.append(pairs_table([("warning", warning)]))
    if verification is not None:
        parts.append(pairs_table([("verdict", verification["verdict"])], title="Verification"))
        checks = [c if isinstance(c, dict) else {"check": c} for c in verification["checks"] or []]
        if checks:
            parts.append(rows_table(checks, title="Checks"))
    else:
        parts.append(pairs_table([("verdict", "unverified")], title="Verification"))
    if data["changes"]:
        cols = ["changed_at", "field_path", "old_value", "new_value", "commit_sha"]
        parts.append(rows_table(data["changes"], cols, title="History"))
    if data["errors"]:
        parts.append(rows_table(data["errors"], ["at", "reason", "detail"], title="Errors"))
    return parts


@cli.command(name="sql")
@click.argument("statement")
@output_options
@click.pass_context
def catalog_sql(ctx: click.Context, statement: str, json_: bool, csv_: bool) -> None:
    """Run one read-only SQL statement on the catalog (opened read-only: nothing can write).

    \b
    Example:
        ropedex sql "SELECT position_encoding, count(*) FROM position_facts GROUP BY 1"
        ropedex sql "SELECT repo_id, downloads FROM models ORDER BY downloads DESC LIMIT 5" --csv
    """
    from registry.queries import run_sql

    names, rows = run_sql(_open(ctx, readonly=True), statement)
    dict_rows = [dict(zip(names, r, strict=True)) for r in rows]
    _emit_rows(dict_rows, json_=json_, csv_=csv_, columns=names)


@cli.command(name="stats")
@click.option("--json", "json_", is_flag=True, help="Output JSON.")
@click.pass_context
def catalog_stats(ctx: click.Context, json_: bool) -> None:
    """Model counts per position-encoding tag, scaling type, family and verdict.

    \b
    Example:
        ropedex stats
        ropedex stats --json
    """
    from registry.db import session_factory
    from registry.output import rows_table, to_json
    from registry.queries import stats

    with session_factory(_open(ctx))() as session:
        data = stats(session)
    if json_:
        click.echo(to_json(data))
        return
    console = _console()
    console.print(f"{data['models']} models, {data['not_ok']} with a fetch problem")
    for section in ("position_encoding", "scaling_type", "family", "verdict"):
        rows = [{section: k, "models": v} for k, v in data[section].items()]
        if rows:
            console.print(rows_table(rows, title=section))


# --- static site: `ropedex render`, `ropedex serve` --------------------------------------------

DEFAULT_SITE_OUT = Path("site") / "_build"


@cli.command(name="render")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_SITE_OUT,
    show_default=True,
    help="Output folder (replaced whole once the new site is ready).",
)
@click.option("--base-url", help="Absolute site URL for feeds and the sitemap (else site.toml).")
@click.pass_context
def site_render(ctx: click.Context, out: Path, base_url: str | None) -> None:
    """Render the static site (glossary, catalog, model pages, feeds) from the catalog.

    \b
    Example:
        ropedex render --out site/_build
    """
    from registry.sitegen import render_site

    summary = render_site(_open(ctx, readonly=True), out, base_url=base_url)
    click.echo(
        f"Rendered {summary.pages:,} pages ({summary.model_pages:,} model pages, "
        f"{summary.plots:,} frequency plots) into {summary.out_dir}: "
        f"{summary.files:,} files, {summary.bytes / 1e6:.1f} MB"
    )
    for repo_id in summary.refused:
        click.echo(f"listed without a page (unsafe repo id): {repo_id!r}", err=True)
    for problem in summary.plot_errors:
        click.echo(f"no frequency plot for rope parameters {problem}", err=True)


@cli.command(name="serve")
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1 (0: any free).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_SITE_OUT,
    show_default=True,
    help="Rendered site to serve.",
)
def site_serve(port: int, directory: Path) -> None:
    """Preview the rendered site on http://127.0.0.1 (loopback only; Ctrl-C stops).

    \b
    Example:
        ropedex render && ropedex serve --port 8000
    """
    from registry.sitegen.serve import make_server

    server = make_server(directory, port)
    bound = server.server_address[1]
    click.echo(f"Serving {directory} on http://127.0.0.1:{bound}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- Hub scraper and loopback mirror: `ropedex scrape`, `ropedex mirror` ------------------------


def _env_true(name: str) -> bool:
    import os

    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@cli.command(name="mirror")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Delay added per request.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help="Inject faults, repeatable: 503:rate=0.1, 429:retry-after=2, drop:repo=ORG/NAME, "
    "truncate:times=1, slow:bytes-per-second=512 (keys: rate, times, kind, repo, path).",
)
@click.option("--page-size", default=100, show_default=True, help="Models per listing page.")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def mirror_serve(
    directory: Path,
    host: str,
    port: int,
    latency_ms: float,
    faults: tuple[str, ...],
    page_size: int,
    quiet: bool,
) -> None:
    """Serve a Hub-like folder (ORG/NAME/config.json [+ hub.json]) over the Hub's HTTP API.

    Point huggingface_hub or `ropedex scrape` at it with HF_ENDPOINT or --endpoint. Tokens
    listed (comma-separated) in ROPEDEX_MIRROR_TOKENS may read gated and private repos.

    \b
    Example:
        ropedex mirror hub-tree/ --port 8080 --latency-ms 30
        HF_ENDPOINT=http://127.0.0.1:8080 ropedex scrape
    """
    import os

    from registry.output import safe_text
    from scrapers.faults import FaultPlan, parse_fault
    from scrapers.mirror import RequestRecord, make_server

    try:
        plan = FaultPlan(latency_ms=latency_ms, faults=[parse_fault(s) for s in faults])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    tokens = [t for t in os.environ.get("ROPEDEX_MIRROR_TOKENS", "").split(",") if t]

    def log(record: RequestRecord) -> None:
        click.echo(safe_text(f"{record.status} {record.method} {record.path}"), err=True)

    try:
        server = make_server(
            directory,
            faults=plan,
            host=host,
            port=port,
            tokens=tokens,
            page_size=page_size,
            on_request=None if quiet else log,
        )
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port} ({exc.strerror}).") from None
    click.echo(f"Serving {directory} as a Hub on {server.base_url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command(name="scrape")
@click.option("--author", "authors", multiple=True, help="Hub user or organisation, repeatable.")
@click.option("--search", help="Substring of the repo id.")
@click.option("--filter", "filters", multiple=True, help="Hub tag to match, repeatable.")
@click.option("--pipeline-tag", help="Task, e.g. text-generation.")
@click.option(
    "--sort",
    type=click.Choice(["downloads", "likes", "last_modified", "created_at", "trending_score"]),
    help="Listing order (the Hub sorts descending).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Most models to list (per --author).")
@click.option(
    "--models",
    "models_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with one repo id a line, instead of a Hub query.",
)
@click.option("--endpoint", help="Hub URL for this run (default: HF_ENDPOINT, else the Hub).")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Hub cache (default: HF_HUB_CACHE, else HF_HOME/hub).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the Hub cache.")
@click.option("--offline", is_flag=True, help="No network; read the Hub cache (HF_HUB_OFFLINE).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option("--retries", default=5, show_default=True, help="Retries of 5xx and timeouts.")
@click.option("--backoff", default=1.0, show_default=True, help="First retry wait, doubling.")
@click.option("--batch-size", default=50, show_default=True, help="Configs per transaction.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Fetch again repos whose commit failed for good before (bad or missing config).",
)
@click.option("--json", "json_", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_context
def hub_scrape(
    ctx: click.Context,
    authors: tuple[str, ...],
    search: str | None,
    filters: tuple[str, ...],
    pipeline_tag: str | None,
    sort: str | None,
    limit: int | None,
    models_file: Path | None,
    endpoint: str | None,
    workers: int,
    cache_dir: Path | None,
    no_cache: bool,
    offline: bool,
    timeout: float,
    retries: int,
    backoff: float,
    batch_size: int,
    retry_failed: bool,
    json_: bool,
) -> None:
    """Bring the catalog in step with the Hub: list, fetch changed config.json files, store.

    Only repos whose commit sha changed since the last run are downloaded, pinned to that sha;
    the others get their downloads, likes and other listing metadata refreshed. A commit whose
    config failed for good (invalid, too large, missing) is not downloaded again unless
    --retry-failed.
    Reads HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and HF_HUB_CACHE like huggingface_hub does.
    Exit status 1 when any model failed (each failure is recorded with its reason).

    \b
    Example:
        ropedex scrape --author Qwen --author meta-llama --limit 200
        ropedex scrape --models repos.txt --json
        ropedex scrape --endpoint http://127.0.0.1:8080
    """
    from registry.sync import scrape
    from scrapers.hub import Selection, read_models_file

    options = _hub_options(endpoint, cache_dir, no_cache, offline, timeout, retries, backoff)
    selection = Selection(
        authors=authors,
        search=search,
        filters=filters,
        pipeline_tag=pipeline_tag,
        sort=sort,
        limit=limit,
        models=read_models_file(models_file) if models_file is not None else None,
    )
    engine = _open(ctx, create=True)
    with _scrape_progress(options.redact) as progress:
        summary = scrape(
            engine,
            options,
            selection,
            workers=workers,
            progress=progress,
            batch_size=batch_size,
            retry_failed=retry_failed,
        )
    _report_scrape(summary, json_)
    if summary.failed_total:
        ctx.exit(1)


def _hub_options(
    endpoint: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    offline: bool,
    timeout: float,
    retries: int,
    backoff: float,
) -> Any:
    """HubOptions from flags and the HF_* variables, read the way huggingface_hub reads them."""
    import os

    from huggingface_hub import get_token

    from scrapers.download import RetryPolicy
    from scrapers.hub import DEFAULT_ENDPOINT, HubOptions, default_cache_dir

    hub_endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    return HubOptions(
        endpoint=hub_endpoint,
        token=get_token() or None,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir(os.environ)),
        offline=offline or _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"),
        timeout=timeout,
        retry=RetryPolicy(max_retries=retries, backoff_base=backoff),
    )


def _scrape_progress(redact: Any) -> Any:
    """A context manager yielding the progress callback: a bar on a terminal, log lines else."""
    from contextlib import contextmanager

    from registry.output import safe_text

    console = _console(stderr=True)

    @contextmanager
    def bar() -> Any:
        from rich.progress import Progress

        with Progress(console=console, transient=True) as prog:
            task = prog.add_task("scrape", total=None)

            def update(event: Any) -> None:
                prog.update(task, completed=event.done, total=max(event.listed, event.done))

            yield update

    @contextmanager
    def lines() -> Any:
        def log(event: Any) -> None:
            text = f"[{event.done}/{event.listed}] {event.outcome} {event.repo_id}"
            click.echo(safe_text(redact(text)), err=True)

        yield log

    return bar() if console.is_terminal else lines()


def _report_scrape(summary: Any, json_: bool) -> None:
    from registry.output import safe_text, to_json

    if json_:
        click.echo(to_json(summary.to_dict()))
        return
    for repo_id, reason, detail in summary.errors:
        click.echo(safe_text(f"{repo_id}: {reason}: {detail}"), err=True)
    failed = ", ".join(f"{k} {v}" for k, v in sorted(summary.failed.items()))
    click.echo(
        f"Scrape run {summary.run_id} ({summary.status}): listed {summary.listed}, "
        f"unchanged {summary.unchanged}, fetched {summary.fetched} "
        f"({summary.cached} from the Hub cache), new {summary.new}, changed {summary.changed}, "
        f"failed {summary.failed_total}" + (f" ({failed})." if failed else ".")
    )
    if summary.known_failed:
        click.echo(
            f"{summary.known_failed} of the failed were not downloaded: their commit failed the "
            "same way before (--retry-failed fetches them again)."
        )


# --- verifier: `ropedex check`, `ropedex verify` ------------------------------------------------

DEVICE_OPTION = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where yarn_core runs the tensor checks (auto: CUDA when present).",
)


def _verify_device(name: str) -> str:
    from registry.errors import DeviceUnavailable
    from yarn_core.rope import resolve_device

    try:
        return str(resolve_device(name))
    except (ValueError, RuntimeError) as exc:
        raise DeviceUnavailable(f"{exc}; use --device cpu or --device auto.") from None


@cli.command(name="check")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "json_", is_flag=True, help="One JSON object per input (JSON Lines).")
@click.option("--all", "all_", is_flag=True, help="List every check, not only warn and fail.")
@DEVICE_OPTION
def verify_check(paths: tuple[str, ...], json_: bool, all_: bool, device: str) -> None:
    """Tag config.json files and verify their declared RoPE scaling with yarn_core.

    Verdict per file: pass, warn (odd but possibly intended), fail (a real defect) or n/a (no
    rotary embedding). Exit status 1 when any input could not be read or parsed.

    \b
    Example:
        ropedex check path/to/config.json
        ropedex check configs/*.json --json --device cpu
    """
    from registry.output import safe_text
    from registry.verify.verdict import verify_tag
    from scrapers.tagger import tag_file

    dev = _verify_device(device)
    broken = False
    for path in paths:
        tag, readable = tag_file(path)
        if not readable:
            broken = True
            click.echo(safe_text(f"{path}: {tag.reason}"), err=True)
            if json_:
                emit_jsonl([{"path": path, "verdict": "error", "reason": tag.reason}])
            continue
        verdict = verify_tag(tag, device=dev, config=_config_dict(path)).to_dict()
        row = {
            "path": path,
            "verdict": verdict["verdict"],
            "reason": verdict["reason"],
            "position_encoding": tag.position_encoding,
            "model_type": tag.model_type,
            "scaling_type": tag.scaling_type,
            "scaling_factor": tag.scaling_factor,
            "original_context": tag.original_context,
            "declared_context": tag.declared_context,
            "verify_fingerprint": tag.verify_fingerprint,
            "checks": verdict["checks"],
            "runtimes": verdict["runtimes"],
            "device": verdict["device"],
            "core_version": verdict["core_version"],
        }
        if json_:
            emit_jsonl([row])
        else:
            _print_verdict(row, all_)
    if broken:
        raise SystemExit(1)


def _print_verdict(row: dict[str, Any], all_: bool) -> None:
    from registry.output import safe_text

    console = _console()
    scaling = f", {row['scaling_type']} x{row['scaling_factor']}" if row["scaling_type"] else ""
    head = f"{row['path']}: {row['verdict'].upper()} ({row['position_encoding']}{scaling})"
    console.print(safe_text(head), markup=False)
    if row["reason"]:
        console.print(f"  {safe_text(row['reason'])}", markup=False)
    shown = [c for c in row["checks"] if all_ or c["status"] in ("warn", "fail")]
    for check in shown:
        line = f"  {check['status']:>14}  {check['id']:<26} {check['message']}"
        console.print(safe_text(line), markup=False)
    hidden = len(row["checks"]) - len(shown)
    if hidden:
        console.print(f"  ({hidden} more checks pass or do not apply; --all lists them)")


@cli.command(name="verify")
@DEVICE_OPTION
@click.option("--force", is_flag=True, help="Verify every fingerprint again, not only new ones.")
@click.option("--json", "json_", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def verify_catalog_cmd(ctx: click.Context, device: str, force: bool, json_: bool) -> None:
    """Verify the catalog once per distinct rope fingerprint and store the verdicts.

    Models that share every verifier input share one verdict; only fingerprints without a
    stored verdict run, unless --force.

    \b
    Example:
        ropedex verify
        ropedex --db catalog.db verify --device cpu --force --json
    """
    from registry.db import session_factory
    from registry.output import to_json
    from registry.runs import finish_run, start_run

    dev = _verify_device(device)
    engine = _open(ctx)
    with session_factory(engine)() as session:
        run = start_run(session, "verify")
        session.commit()
        try:
            summary = _verify_with_progress(session, dev, force)
        except BaseException as exc:  # record the run as stopped, keep committed verdicts
            session.rollback()
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            finish_run(session, run, status=status, counts={}, error=repr(exc))
            session.commit()
            raise
        finish_run(session, run, status="ok", counts=summary.to_dict())
        session.commit()
    if json_:
        click.echo(to_json(summary.to_dict()))
        return
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_verdict.items())) or "none"
    click.echo(
        f"Verified {summary.checked} fingerprints on {summary.device} (skipped "
        f"{summary.skipped_existing} with a stored verdict): {verdicts}."
    )


def _verify_with_progress(session: Any, device: str, force: bool) -> Any:
    """`verify_catalog` with a rich progress bar on a terminal, plain lines otherwise."""
    from registry.verify.catalog import verify_catalog

    console = _console(stderr=True)
    if not console.is_terminal:
        return verify_catalog(session, device=device, force=force, progress=_verify_lines)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("verify", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return verify_catalog(session, device=device, force=force, progress=update)


def _verify_lines(done: int, total: int) -> None:
    """Plain progress lines on stderr (every 100 fingerprints and at the end)."""
    if done % 100 == 0 or done == total:
        click.echo(f"verified {done}/{total}", err=True)


# --- numerical core: `ropedex rope` ------------------------------------------------------------


@cli.command(name="rope")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--layer-type", help="Only this layer type (full_attention, sliding_attention...).")
@click.option(
    "--convention",
    type=click.Choice(CONVENTIONS),
    default="transformers",
    show_default=True,
    help="Runtime whose documented behaviour to reproduce.",
)
@click.option("--json", "json_", is_flag=True, help="One JSON object per layer type (JSON Lines).")
def rope_show(paths: tuple[str, ...], layer_type: str | None, convention: str, json_: bool) -> None:
    """Inverse frequencies, attention scaling and YaRN / Llama 3 bands of config.json files.

    One row per layer type whose rope parameters differ; a config without RoPE gives one row with
    rope_type null and the reason. Exit status 1 when any input could not be read or parsed.

    \b
    Example:
        ropedex rope path/to/config.json --convention vllm --json
    """
    from scrapers.tagger import tag_file
    from yarn_core.report import rope_rows

    rows: list[dict[str, Any]] = []
    failed = False
    for path in paths:
        result, readable = tag_file(path)
        failed = failed or not readable
        rows.extend(
            rope_rows(
                path,
                result.rope,
                layer_type=layer_type,
                convention=convention,
                reason=result.reason or f"position encoding: {result.position_encoding}",
                model_type=result.model_type,
                rope_block=result.raw_rope or {},
                declared=result.declared_context,
                config=_config_dict(path),
            )
        )
    emit_rows(rows, json_=json_, show=_print_rope_rows, failed=failed)


def _config_dict(path: str) -> dict[str, Any] | None:
    """The config at `path` as a dict (None if unreadable): runtime rules read keys outside the
    rope block, such as the length key llama.cpp's converter picks."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _print_rope_rows(rows: list[dict[str, Any]]) -> None:
    """Readable blocks: a summary line, bands and notes, then the full inv_freq list."""
    for row in rows:
        head = f"{row['path']} [{row['layer_type'] or '-'}]"
        if row["inv_freq"] is None:
            kind = row["rope_type"] or "no RoPE"
            click.echo(f"{head}: {kind} ({row['reason']})")
            continue
        click.echo(
            f"{head}: {row['rope_type']}, rotary_dim {row['rotary_dim']} of {row['head_dim']}, "
            f"{row['pairing']} pairs, theta {row['theta']:g}, factor {row['factor']:g}, "
            f"attention scaling {row['attention_scaling']:.10g} ({row['convention']})"
        )
        for key in ("yarn_bands", "llama3_bands"):
            if row[key]:
                parts = ", ".join(
                    f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in row[key].items()
                )
                click.echo(f"  {key.replace('_', ' ')}: {parts}")
        if row["softmax_multiplier"] != 1.0:
            click.echo(f"  softmax multiplier: {row['softmax_multiplier']:.10g}")
        for note in row["notes"] or ():
            click.echo(f"  note: {note}")
        values = " ".join(f"{v:.10e}" for v in row["inv_freq"])
        click.echo(f"  inv_freq ({len(row['inv_freq'])}): {values}")


# --- nightly job: `ropedex nightly` --------------------------------------------------------------


@cli.command(name="nightly")
@click.option("--offline", is_flag=True, help="Skip the scrape: re-tag, verify, render only.")
@click.option(
    "--follow",
    "follow_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Follow file of [[select]] Hub queries (default: registry/follow.toml).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site/_build"),
    show_default=True,
    help="Where the site is written (swapped in whole).",
)
@click.option("--base-url", help="Absolute site URL for feeds and the sitemap.")
@click.option("--endpoint", help="Hub URL for this run (default: HF_ENDPOINT, else the Hub).")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Hub cache (default: HF_HUB_CACHE, else HF_HOME/hub).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the Hub cache.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option("--retries", default=5, show_default=True, help="Retries of 5xx and timeouts.")
@click.option("--backoff", default=1.0, show_default=True, help="First retry wait, doubling.")
@DEVICE_OPTION
@click.option("--json", "json_", is_flag=True, help="Print the run summary as one JSON object.")
@click.pass_context
def nightly_run(
    ctx: click.Context,
    offline: bool,
    follow_file: Path | None,
    out_dir: Path,
    base_url: str | None,
    endpoint: str | None,
    workers: int,
    cache_dir: Path | None,
    no_cache: bool,
    timeout: float,
    retries: int,
    backoff: float,
    device: str,
    json_: bool,
) -> None:
    """The main job: scrape (incremental) -> tag -> verify new fingerprints -> render + feeds.

    One run at a time (a lock beside the catalog). Exit status: 0 ok, 1 partial (some models or
    a stage failed; the catalog keeps every good row), 3 failed, 75 another run holds the lock.

    \b
    Example:
        ropedex nightly --offline
        ropedex nightly --follow my-follow.toml --out /srv/ropedex/public --json
    """
    from registry.errors import LockHeld
    from registry.nightly import (
        DEFAULT_FOLLOW,
        EXIT_LOCKED,
        job_lock,
        load_follow,
        lock_path_for,
        render_stage,
        retag_stage,
        run_stages,
        scrape_stage,
        verify_stage,
    )

    follow = load_follow(follow_file or DEFAULT_FOLLOW)
    db = ctx.obj["db"]
    try:
        with job_lock(lock_path_for(db)):
            engine = _open(ctx, create=True)
            scrape = None
            if not offline:
                options = _hub_options(
                    endpoint, cache_dir, no_cache, False, timeout, retries, backoff
                )
                if options.offline:
                    offline = True
                else:
                    scrape = scrape_stage(engine, options, follow, workers=workers)
            stages = [
                ("scrape", scrape),
                ("tag", retag_stage(engine)),
                ("verify", verify_stage(engine, device=_verify_device(device))),
                ("render", render_stage(engine, out_dir, base_url=base_url)),
            ]
            summary = run_stages(engine, stages, on_stage=None if json_ else _echo_stage)
    except LockHeld as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(EXIT_LOCKED)
    if json_:
        click.echo(json.dumps(summary.to_dict(), sort_keys=False, default=str))
    else:
        click.echo(
            f"Nightly run {summary.run_id}: {summary.status}"
            + (" (offline: no scrape)" if offline else "")
            + f"; site in {out_dir}"
        )
    ctx.exit(summary.exit_code)


@cli.command(name="publish-db")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def nightly_publish_db(ctx: click.Context, dest: Path) -> None:
    """Copy the catalog to DEST without raw config texts (facts and evidence stay), compacted.

    This is how the committed catalog.db is made; see README "Rebuilding catalog.db".

    \b
    Example:
        ropedex --db work.db publish-db catalog.db
    """
    from registry.db import db_url
    from registry.errors import BadDatabaseURL
    from registry.nightly import publish_copy

    _open(ctx, create=False).dispose()  # a clear error when the catalog is missing or too new
    url = db_url(ctx.obj["db"])
    if not url.startswith("sqlite:///"):
        raise BadDatabaseURL("publish-db copies SQLite catalogs only; pass --db PATH.")
    source = Path(url.removeprefix("sqlite:///"))
    if dest.resolve() == source.resolve():
        raise BadDatabaseURL("publish-db needs a destination other than the catalog itself.")
    counts = publish_copy(source, dest)
    click.echo(
        f"Wrote {dest}: {counts['models']} models, {counts['stripped_configs']} config texts "
        f"stripped, {counts['bytes']} bytes."
    )


@cli.command(name="hubtree")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def nightly_hubtree(corpus: Path, out: Path) -> None:
    """Lay out a corpus (configs/*.json + manifest.tsv) as a Hub-like tree for `mirror`/`ingest`.

    \b
    Example:
        ropedex hubtree ../shared/corpus /tmp/hub && ropedex mirror /tmp/hub --port 8080
    """
    from registry.errors import BadInputDir
    from scrapers.hubtree import build_hub_tree

    try:
        entries = build_hub_tree(corpus, out)
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputDir(f"Cannot lay out {corpus} as a Hub tree: {exc}") from None
    click.echo(f"Wrote {len(entries)} repos under {out}.")


def _echo_stage(report: Any) -> None:
    from registry.output import safe_text

    counts = ", ".join(
        f"{k} {v}" for k, v in report.counts.items() if isinstance(v, int | float | str)
    )
    line = f"{report.name}: {report.status} in {report.seconds:.1f}s" + (
        f" ({counts})" if counts else ""
    )
    if report.error:
        line += f"; {report.error}"
    click.echo(safe_text(line), err=True)


def main() -> None:
    cli(prog_name="ropedex")


if __name__ == "__main__":  # pragma: no cover
    main()
