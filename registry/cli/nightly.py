"""The nightly job and the published catalog: `ropedex nightly`, `ropedex publish-db`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click

from registry.cli import cli
from registry.cli.options import (
    build_hub_options,
    device_option,
    hub_retry_options,
    hub_source_options,
    open_catalog,
    verify_device,
)
from registry.cli.output import safe_text


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
@hub_source_options
@hub_retry_options
@click.option(
    "--stage-timeout",
    default=4 * 3600.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds each stage may run; past it the stage is recorded failed and the run goes on.",
)
@device_option
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
    max_retry_after: float,
    stage_timeout: float,
    device: str,
    json_: bool,
) -> None:
    """The main job: scrape (incremental) -> tag -> verify new fingerprints -> render + feeds.

    One run per catalog (a lock on its real file, or on its PostgreSQL server). Exit status:
    0 ok, 1 partial (some models or a stage failed; the catalog keeps every good row), 2 bad
    usage (follow file), 3 failed, 75 another run holds the lock. With --json a summary is
    printed in every case.

    \b
    Example:
        ropedex nightly --offline
        ropedex nightly --follow my-follow.toml --out /srv/ropedex/public --json
    """
    from registry.errors import BadFollowFile, LockHeld
    from registry.exits import EXIT_USAGE
    from registry.locks import catalog_lock
    from registry.nightly import (
        DEFAULT_FOLLOW,
        EXIT_LOCKED,
        gguf_stage,
        load_follow,
        render_stage,
        retag_stage,
        run_stages,
        scrape_stage,
        verify_stage,
    )

    try:
        follow = load_follow(follow_file or DEFAULT_FOLLOW)
    except BadFollowFile as exc:
        _refuse(ctx, "failed", EXIT_USAGE, str(exc), json_)
    db = ctx.obj["db"]
    try:
        with catalog_lock(db):
            engine = open_catalog(ctx, create=True)
            scrape = gguf = None
            if not offline:
                options = build_hub_options(
                    endpoint, cache_dir, no_cache, False, timeout, retries, backoff, max_retry_after
                )
                if options.offline:
                    offline = True
                else:
                    scrape = scrape_stage(engine, options, follow, workers=workers)
                    gguf = gguf_stage(engine, options, follow)
            stages = [
                ("scrape", scrape),
                ("gguf", gguf),
                ("tag", retag_stage(engine)),
                ("verify", verify_stage(engine, device=verify_device(device))),
                ("render", render_stage(engine, out_dir, base_url=base_url)),
            ]
            summary = run_stages(
                engine,
                stages,
                on_stage=None if json_ else _echo_stage,
                stage_timeout=stage_timeout,
            )
    except LockHeld as exc:
        _refuse(ctx, "locked", EXIT_LOCKED, str(exc), json_)
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

    DEST is always a SQLite file; a catalog on a PostgreSQL server is exported to one.

    This is how the committed catalog.db is made; see README "Rebuilding catalog.db".

    \b
    Example:
        ropedex --db work.db publish-db catalog.db
    """
    from registry.db import sqlite_path
    from registry.errors import BadDatabaseURL
    from registry.nightly import publish_copy, publish_export

    # a clear error when the catalog is missing or too new
    engine = open_catalog(ctx, create=False)
    try:
        source = sqlite_path(str(engine.url))
        if source is None:  # a server catalog (or in memory): exported table by table
            counts = publish_export(engine, dest)
        else:
            if dest.resolve() == Path(source).resolve():
                raise BadDatabaseURL(
                    "publish-db needs a destination other than the catalog itself."
                )
            counts = publish_copy(Path(source), dest)
    finally:
        engine.dispose()
    click.echo(
        f"Wrote {dest}: {counts['models']} models, {counts['stripped_configs']} config texts "
        f"stripped, {counts['bytes']} bytes."
    )


def _refuse(ctx: click.Context, status: str, code: int, message: str, json_: bool) -> NoReturn:
    """End a run that could not start: one error line, and the summary when --json."""
    if json_:
        summary: dict[str, Any] = {"run_id": None, "status": status, "exit_code": code}
        click.echo(json.dumps({**summary, "stages": [], "error": message}))
    click.echo(f"Error: {safe_text(message)}", err=True)
    ctx.exit(code)
    raise AssertionError("unreachable")  # ctx.exit raises


def _echo_stage(report: Any) -> None:

    counts = ", ".join(
        f"{k} {v}" for k, v in report.counts.items() if isinstance(v, int | float | str)
    )
    line = f"{report.name}: {report.status} in {report.seconds:.1f}s" + (
        f" ({counts})" if counts else ""
    )
    if report.error:
        line += f"; {report.error}"
    click.echo(safe_text(line), err=True)
