"""Tagger and numerical-core commands: `ropedex tag`, `ropedex tags`, `ropedex rope`."""

from __future__ import annotations

from typing import Any

import click

from registry.cli import cli
from registry.cli.options import ConfigFile, json_nl_options
from registry.cli.output import emit_json_rows, emit_rows, safe_text
from yarn_core.conventions import CONVENTIONS  # pure Python: no torch at --help


@cli.command(name="tag")
@click.argument(
    "inputs", nargs=-1, required=True, metavar="PATH|ORG/NAME[@REV]...", type=ConfigFile()
)
@json_nl_options
@click.pass_context
def tagging_tag(ctx: click.Context, inputs: tuple[str, ...], json_: bool, nl: bool) -> None:
    """Tag configs with their position encoding.

    Each input is a config.json path or a repo id ORG/NAME[@revision] (read from the catalog
    when it keeps the config, else from the Hub). Exit status 1 when any input could not be
    read or parsed.

    \b
    Example:
        ropedex tag path/to/config.json --json
        ropedex tag deepseek-ai/DeepSeek-V3
    """
    from registry.cli.inputs import make_resolver
    from registry.resolve_input import tag_input

    resolve = make_resolver(ctx)
    rows: list[dict[str, Any]] = []
    failed = False
    for arg in inputs:
        result, readable, _config = tag_input(resolve(arg))
        failed = failed or not readable
        if not readable:
            click.echo(safe_text(f"{arg}: {result.reason}"), err=True)
        rows.append({"path": arg, **result.to_dict()})
    emit_rows(rows, json_=json_, nl=nl, show=_print_tag_table, failed=failed)


def _print_tag_table(rows: list[dict[str, Any]]) -> None:
    from registry.cli.output import make_console, rows_table
    from registry.formatting import fmt_num, fmt_theta, fmt_tokens

    table_rows = [
        {
            "path": row["path"],
            "encoding": row["position_encoding"],
            "theta": fmt_theta(row["rope_theta"], missing="-"),
            "rotary": fmt_num(row["rotary_dim"], missing="-"),
            "scaling": row["scaling_type"] or "-",
            "factor": fmt_num(row["scaling_factor"], missing="-"),
            "context": "/".join(
                fmt_tokens(row[k], missing="-")
                for k in ("original_context", "declared_context", "effective_context")
            ),
            "reason": row["reason"] or "",
        }
        for row in rows
    ]
    console = make_console()
    priority = ("encoding", "context", "scaling", "factor")
    table = rows_table(table_rows, ellipsis=True, fit_width=console.width, priority=priority)
    console.print(table)


@cli.command(name="tags")
@json_nl_options
def tagging_tags(json_: bool, nl: bool) -> None:
    """List the position-encoding vocabulary with a definition of each tag."""
    from scrapers.tagger.vocabulary import TAGS

    rows = [{"tag": tag, "definition": text} for tag, text in TAGS.items()]
    if emit_json_rows(rows, json_=json_, nl=nl):
        return
    for tag, text in TAGS.items():
        click.echo(f"{tag:24} {text}")


@cli.command(name="rope")
@click.argument(
    "inputs", nargs=-1, required=True, metavar="PATH|ORG/NAME[@REV]...", type=ConfigFile()
)
@click.option("--layer-type", help="Only this layer type (full_attention, sliding_attention...).")
@click.option(
    "--convention",
    type=click.Choice(CONVENTIONS),
    default="transformers",
    show_default=True,
    help="Runtime whose documented behaviour to reproduce.",
)
@json_nl_options
@click.pass_context
def tagging_rope(
    ctx: click.Context,
    inputs: tuple[str, ...],
    layer_type: str | None,
    convention: str,
    json_: bool,
    nl: bool,
) -> None:
    """Inverse frequencies, attention scaling and YaRN / Llama 3 bands of configs.

    Each input is a config.json path or a repo id ORG/NAME[@revision] (catalog, else the Hub).

    One row per layer type whose rope parameters differ; a config without RoPE gives one row with
    rope_type null and the reason. Exit status 1 when any input could not be read or parsed.

    \b
    Example:
        ropedex rope path/to/config.json --convention vllm --json
    """
    from registry.cli.inputs import make_resolver
    from registry.resolve_input import tag_input
    from yarn_core.report import rope_rows

    resolve = make_resolver(ctx)
    rows: list[dict[str, Any]] = []
    failed = False
    for arg in inputs:
        result, readable, config = tag_input(resolve(arg))
        failed = failed or not readable
        if not readable:
            click.echo(safe_text(f"{arg}: {result.reason}"), err=True)
        rows.extend(
            rope_rows(
                arg,
                result.rope,
                layer_type=layer_type,
                convention=convention,
                reason=result.reason or f"position encoding: {result.position_encoding}",
                model_type=result.model_type,
                rope_block=result.raw_rope or {},
                declared=result.declared_context,
                config=config,
            )
        )
    emit_rows(rows, json_=json_, nl=nl, show=_print_rope_rows, failed=failed)


def _print_rope_rows(rows: list[dict[str, Any]]) -> None:
    """Readable blocks: a summary line, bands and notes, then the full inv_freq list."""
    from registry.formatting import fmt_num, fmt_theta, fmt_value

    for row in rows:
        head = f"{row['path']} [{row['layer_type'] or '-'}]"
        if row["inv_freq"] is None:
            kind = row["rope_type"] or "no RoPE"
            click.echo(f"{head}: {kind} ({row['reason']})")
            continue
        click.echo(
            f"{head}: {row['rope_type']}, rotary_dim {row['rotary_dim']} of {row['head_dim']}, "
            f"{row['pairing']} pairs, theta {fmt_theta(row['theta'])}, "
            f"factor {fmt_num(row['factor'])}, "
            f"attention scaling {row['attention_scaling']:.10g} ({row['convention']})"
        )
        for key in ("yarn_bands", "llama3_bands"):
            if row[key]:
                parts = ", ".join(f"{k} {fmt_value(v, 6)}" for k, v in row[key].items())
                click.echo(f"  {key.replace('_', ' ')}: {parts}")
        if row["softmax_multiplier"] != 1.0:
            click.echo(f"  softmax multiplier: {row['softmax_multiplier']:.10g}")
        for note in row["notes"] or ():
            click.echo(f"  note: {note}")
        values = " ".join(f"{v:.10e}" for v in row["inv_freq"])
        click.echo(f"  inv_freq ({len(row['inv_freq'])}): {values}")
