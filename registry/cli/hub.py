"""Hub commands: `ropedex scrape`, the loopback `ropedex mirror`, `ropedex hubtree`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from registry.cli import cli
from registry.cli.options import (
    build_hub_options,
    fault_plan,
    hub_retry_options,
    hub_source_options,
    open_catalog,
    serve_until_interrupted,
)
from registry.cli.output import make_console, safe_text, to_json
from scrapers.hub import SORTS


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
def hub_mirror(
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

    from scrapers.mirror import RequestRecord, make_server

    plan = fault_plan(latency_ms, faults)
    tokens = [t for t in os.environ.get("ROPEDEX_MIRROR_TOKENS", "").split(",") if t]

    def log(record: RequestRecord) -> None:
        line = f"{record.status} {record.method} {record.path} {record.bytes_sent} bytes"
        click.echo(safe_text(line), err=True)

    def problem(repo_id: str, text: str) -> None:
        click.echo(safe_text(f"{repo_id}: {text}"), err=True)

    try:
        server = make_server(
            directory,
            faults=plan,
            host=host,
            port=port,
            tokens=tokens,
            page_size=page_size,
            on_request=None if quiet else log,
            on_problem=problem,
        )
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port} ({exc.strerror}).") from None
    click.echo(f"Serving {directory} as a Hub on {server.base_url} (Ctrl-C to stop)")
    serve_until_interrupted(server)


@cli.command(name="scrape")
@click.option("--author", "authors", multiple=True, help="Hub user or organisation, repeatable.")
@click.option("--search", help="Substring of the repo id.")
@click.option("--filter", "filters", multiple=True, help="Hub tag to match, repeatable.")
@click.option("--pipeline-tag", help="Task, e.g. text-generation.")
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    help="Listing order (the Hub sorts descending).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Most models to list (per --author).")
@click.option(
    "--models",
    "models_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with one repo id a line, instead of a Hub query.",
)
@hub_source_options
@click.option("--offline", is_flag=True, help="No network; read the Hub cache (HF_HUB_OFFLINE).")
@hub_retry_options
@click.option("--batch-size", default=50, show_default=True, help="Configs per transaction.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Fetch again repos whose commit failed for good before (bad or missing config).",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="List newest first and stop at the last incremental run's mark (whole-Hub mode).",
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
    max_retry_after: float,
    batch_size: int,
    retry_failed: bool,
    incremental: bool,
    json_: bool,
) -> None:
    """Bring the catalog in step with the Hub: list, fetch changed config.json files, store.

    Only repos whose commit sha changed since the last run are downloaded, pinned to that sha;
    the others get their downloads, likes and other listing metadata refreshed. A commit whose
    config failed for good (invalid, too large, missing) is not downloaded again unless
    --retry-failed.
    Reads HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and HF_HUB_CACHE like huggingface_hub does.
    Exit status: 0 ok, 1 partial (some models failed, each recorded with its reason; the good
    ones are kept), 3 failed (the listing failed, or every listed model failed), 2 bad usage.
    With --json a summary is printed in every case, with `error` when the run failed.

    \b
    Example:
        ropedex scrape --author Qwen --author meta-llama --limit 200
        ropedex scrape --models repos.txt --json
        ropedex scrape --endpoint http://127.0.0.1:8080
    """
    from registry.sync import scrape
    from scrapers.hub import Selection, read_models_file

    options = build_hub_options(
        endpoint, cache_dir, no_cache, offline, timeout, retries, backoff, max_retry_after
    )
    selection = Selection(
        authors=authors,
        search=search,
        filters=filters,
        pipeline_tag=pipeline_tag,
        sort=sort,
        limit=limit,
        models=read_models_file(models_file) if models_file is not None else None,
    )
    from registry.errors import ScrapeFailed
    from registry.exits import EXIT_FAILED

    engine = open_catalog(ctx, create=True)
    try:
        with _scrape_progress(options.redact) as progress:
            summary = scrape(
                engine,
                options,
                selection,
                workers=workers,
                progress=progress,
                batch_size=batch_size,
                retry_failed=retry_failed,
                incremental=incremental,
            )
    except ScrapeFailed as exc:  # the listing failed: the summary of what was done, then why
        if json_:
            done = exc.summary.to_dict() if exc.summary is not None else {"status": "failed"}  # type: ignore[attr-defined]
            click.echo(to_json({**done, "error": str(exc)}))
        click.echo(f"Error: {safe_text(str(exc))}", err=True)
        ctx.exit(EXIT_FAILED)
    _report_scrape(summary, json_)
    ctx.exit(scrape_exit_code(summary))


def scrape_exit_code(summary: Any) -> int:
    """0 ok; 1 some models failed while others came through; 3 every listed model failed."""
    from registry.exits import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL

    if not summary.failed_total:
        return EXIT_OK
    came_through = summary.new + summary.changed + summary.unchanged
    return EXIT_PARTIAL if came_through else EXIT_FAILED


def _scrape_progress(redact: Any) -> Any:
    """A context manager yielding the progress callback: a bar on a terminal, log lines else."""
    from contextlib import contextmanager

    console = make_console(stderr=True)

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


@cli.command(name="hubtree")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def hub_hubtree(corpus: Path, out: Path) -> None:
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
