"""Lineage command: `ropedex drift` (derivatives whose rope fields differ from their base)."""

from __future__ import annotations

from typing import Any

import click

from registry.cli import cli
from registry.cli.options import open_catalog
from registry.cli.output import make_console, safe_text, to_json


@cli.command(name="drift")
@click.argument("repo_id", required=False)
@click.option("--all", "all_", is_flag=True, help="List derivatives without drift too.")
@click.option("--json", "json_", is_flag=True, help="Print the derivatives as JSON.")
@click.pass_context
def drift_cmd(ctx: click.Context, repo_id: str | None, all_: bool, json_: bool) -> None:
    """Fine-tunes, merges and quants whose position encoding differs from their base model.

    The tree follows each model's base_model (from its card). Each difference is harmless (a
    length its own scaling covers), suspicious (context cut or uncovered, changed factor or
    original context) or breaking (theta, scaling dropped or swapped, rotary dims, pairing,
    NoPE layers). GGUF files the nightly read whose rope keys differ from their source config
    are listed too. With REPO_ID, only its tree (and its own drift from its base).

    \b
    Example:
        ropedex drift
        ropedex drift meta-llama/Llama-3.1-8B --json
    """
    from registry.db import session_factory
    from registry.lineage import catalog_drift, gguf_drift, summary

    make = session_factory(open_catalog(ctx, readonly=True))
    with make() as session:
        tree = catalog_drift(session, repo_id)
        ggufs = gguf_drift(session, repo_id)
    shown = [d for d in tree if all_ or d.drifts]
    if json_:
        derivatives = [d.to_dict() for d in shown]
        click.echo(to_json({"summary": summary(tree), "derivatives": derivatives, "gguf": ggufs}))
        return
    _print(shown, summary(tree), ggufs)


def _print(shown: list[Any], counts: dict[str, int], ggufs: list[dict[str, Any]]) -> None:
    console = make_console()

    def out(text: str) -> None:
        console.print(safe_text(text), markup=False, highlight=False, soft_wrap=True)

    for node in shown:
        indent = "  " * (node.depth - 1)
        out(f"{indent}{node.repo_id} <- {node.base}: {node.level or 'no drift'}")
        for d in node.drifts:
            out(f"{indent}  {d.level:>10}  {d.field}: {d.base!r} -> {d.derived!r} ({d.why})")
    for g in ggufs:
        out(f"{g['repo_id']}:{g['filename']} <- {g['source']}: {g['level']} (GGUF)")
        for d in g["drifts"]:
            out(f"  {d['level']:>10}  {d['field']}: {d['why']}")
        for fix in g["fixes"]:
            out(f"  fix: {fix}")
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in counts.items())
    out(f"{total} derivatives with a base in the catalog: {parts}.")
