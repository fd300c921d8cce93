"""`ropedex synthetic-hub`: the loopback mirror serving a generated whole-Hub listing."""

from __future__ import annotations

from pathlib import Path

import click

from registry.cli import cli
from registry.cli.options import fault_plan, serve_until_interrupted


@cli.command(name="synthetic-hub")
@click.argument("count", type=click.IntRange(min=1))
@click.option(
    "--generation",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Nights of churn since the first listing.",
)
@click.option(
    "--churn",
    type=click.FloatRange(0.0, 1.0),
    default=0.01,
    show_default=True,
    help="Fraction of repos given a new commit per generation.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the generated Hub.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the few template config files.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Delay added per request.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help="Inject faults as for `ropedex mirror`, e.g. 429:rate=0.01,retry-after=1.",
)
@click.option("--page-size", default=1000, show_default=True, help="Models per listing page.")
def synthetic_hub(
    count: int,
    generation: int,
    churn: float,
    seed: int,
    workdir: Path,
    host: str,
    port: int,
    latency_ms: float,
    faults: tuple[str, ...],
    page_size: int,
) -> None:
    """Serve COUNT generated repos over the Hub's HTTP API, newest first, with no folder per repo.

    Each generation gives a --churn fraction of the repos a new commit, as a night on the Hub
    would; `ropedex scrape --incremental` against generation G+1 after a run against G fetches
    only those.

    \b
    Example:
        ropedex synthetic-hub 1000000 --workdir /tmp/synth --port 8080 --latency-ms 30
        ropedex scrape --incremental --endpoint http://127.0.0.1:8080
    """
    from scrapers.synthetic import SyntheticHub, make_synthetic_server

    plan = fault_plan(latency_ms, faults)
    hub = SyntheticHub(count, workdir, generation=generation, churn=churn, seed=seed)
    try:
        server = make_synthetic_server(hub, faults=plan, host=host, port=port, page_size=page_size)
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port} ({exc.strerror}).") from None
    click.echo(f"Serving {count} synthetic repos (generation {generation}) on {server.base_url}")
    serve_until_interrupted(server)
