"""Static-site commands: `ropedex render`, `ropedex serve`."""

from __future__ import annotations

from pathlib import Path

import click

from registry.cli import cli
from registry.cli.options import open_catalog, serve_until_interrupted

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
@click.option(
    "--hub-url",
    envvar="HF_ENDPOINT",
    help="Hub the model pages link to (env HF_ENDPOINT; default https://huggingface.co).",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Reuse model pages whose inputs are unchanged from the site already in --out.",
)
@click.option(
    "--progress",
    "show_progress",
    is_flag=True,
    help="Report progress on stderr even when it is not a terminal (a bar shows on one).",
)
@click.pass_context
def site_render(
    ctx: click.Context,
    out: Path,
    base_url: str | None,
    hub_url: str | None,
    incremental: bool,
    show_progress: bool,
) -> None:
    """Render the static site (glossary, catalog, model pages, feeds) from the catalog.

    A progress bar shows on stderr when it is a terminal; --progress prints progress lines
    when it is not. Standard output is the same either way.

    \b
    Example:
        ropedex render --out site/_build
    """
    from registry.cli.render_progress import render_progress
    from registry.sitegen import render_site

    engine = open_catalog(ctx, readonly=True)
    with render_progress(show_progress) as progress:
        summary = render_site(
            engine,
            out,
            base_url=base_url,
            hub_url=hub_url,
            incremental=incremental,
            progress=progress,
        )
    click.echo(
        f"Rendered {summary.pages:,} pages ({summary.model_pages:,} model pages, "
        f"{summary.plots:,} frequency plots) into {summary.out_dir}: "
        f"{summary.files:,} files, {summary.bytes / 1e6:.1f} MB"
        + (f"; {summary.reused:,} model pages unchanged" if incremental else "")
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
    serve_until_interrupted(server)
