"""The `ropedex` command line: the one place that reads argv, the environment and writes stdout.

This module holds the click group, its `--db` option and the one error boundary (`CatalogGroup`);
each command lives in the module of its group and registers itself on `cli` when imported below.
Heavy modules (torch, huggingface_hub, sqlalchemy, rich) are imported inside the commands that
need them, so `ropedex --help` starts at once.
"""

from __future__ import annotations

from typing import Any

import click

from registry.db import DEFAULT_DB
from registry.errors import USER_ERRORS

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CatalogGroup(click.Group):
    """Converts every user-facing `CatalogError` into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            from scrapers.redact import redact_text

            raise click.ClickException(redact_text(str(exc))) from None


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


def main() -> None:
    cli(prog_name="ropedex")


# The command modules register their commands on `cli`; they need it defined first.
from registry.cli import catalog, hub, nightly, site, synthetic, tagging, verify  # noqa: E402, F401, I001
from registry.cli import gguf, lineage  # noqa: E402, F401
from registry.cli import recipe  # noqa: E402, F401, I001

__all__ = ["CONTEXT_SETTINGS", "CatalogGroup", "cli", "main"]
