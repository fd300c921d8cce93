"""Tagger and numerical-core commands: `ropedex tag`, `ropedex tags`, `ropedex rope`."""

from __future__ import annotations

from typing import Any

import click

from registry.cli import cli
from registry.cli.options import ConfigFile, config_dict
from registry.cli.output import emit_jsonl, emit_rows
from yarn_core.conventions import CONVENTIONS  # pure Python: no torch at --help


@cli.command(name="tag")
@click.argument("paths", nargs=-1, required=True, type=ConfigFile())
@click.option("--json", "json_", is_flag=True, help="One JSON object per input (JSON Lines).")
def tagging_tag(paths: tuple[str, ...], json_: bool) -> None:
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
def tagging_tags(json_: bool) -> None:
    """List the position-encoding vocabulary with a definition of each tag."""
    from scrapers.tagger.vocabulary import TAGS

    if json_:
        emit_jsonl([{"tag": tag, "definition": text} for tag, text in TAGS.items()])
        return
    for tag, text in TAGS.items():
        click.echo(f"{tag:24} {text}")


@cli.command(name="rope")
@click.argument("paths", nargs=-1, required=True, type=ConfigFile())
@click.option("--layer-type", help="Only this layer type (full_attention, sliding_attention...).")
@click.option(
    "--convention",
    type=click.Choice(CONVENTIONS),
    default="transformers",
    show_default=True,
    help="Runtime whose documented behaviour to reproduce.",
)
@click.option("--json", "json_", is_flag=True, help="One JSON object per layer type (JSON Lines).")
def tagging_rope(
    paths: tuple[str, ...], layer_type: str | None, convention: str, json_: bool
) -> None:
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
                config=config_dict(path),
            )
        )
    emit_rows(rows, json_=json_, show=_print_rope_rows, failed=failed)


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
