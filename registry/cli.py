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
    if json_:
        emit_jsonl(rows)
    else:
        _print_tag_table(rows)
    if failed:
        raise SystemExit(1)


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
    from scrapers.vocabulary import TAGS

    if json_:
        emit_jsonl([{"tag": tag, "definition": text} for tag, text in TAGS.items()])
        return
    for tag, text in TAGS.items():
        click.echo(f"{tag:24} {text}")


def main() -> None:
    cli(prog_name="ropedex")


if __name__ == "__main__":  # pragma: no cover
    main()
