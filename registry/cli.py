"""The `ropedex` command line: the one place that reads argv, the environment and writes stdout.

Heavy modules (torch, huggingface_hub, transformers) are imported inside the commands that need
them, so `ropedex --help` starts at once.
"""

from __future__ import annotations

import json
from typing import Any

import click

from registry.db import DEFAULT_DB
from registry.errors import CatalogError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CatalogGroup(click.Group):
    """Converts every user-facing `CatalogError` into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CatalogError as exc:
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


def main() -> None:
    cli(prog_name="ropedex")


if __name__ == "__main__":  # pragma: no cover
    main()
