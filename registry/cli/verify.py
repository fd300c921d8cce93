"""Verifier commands: `ropedex check` (config files), `ropedex verify` (the catalog)."""

from __future__ import annotations

from typing import Any

import click

from registry.cli import cli
from registry.cli.options import ConfigFile, config_dict, device_option, open_catalog, verify_device
from registry.cli.output import emit_jsonl, make_console, safe_text, to_json


@cli.command(name="check")
@click.argument("paths", nargs=-1, required=True, type=ConfigFile())
@click.option("--json", "json_", is_flag=True, help="One JSON object per input (JSON Lines).")
@click.option("--all", "all_", is_flag=True, help="List every check, not only warn and fail.")
@device_option
def verify_check(paths: tuple[str, ...], json_: bool, all_: bool, device: str) -> None:
    """Tag config.json files and verify their declared RoPE scaling with yarn_core.

    Verdict per file: pass, warn (odd but possibly intended), fail (a real defect) or n/a (no
    rotary embedding). Exit status 1 when any input could not be read or parsed.

    \b
    Example:
        ropedex check path/to/config.json
        ropedex check configs/*.json --json --device cpu
    """
    from registry.verify.verdict import verify_tag
    from scrapers.tagger import tag_file

    dev = verify_device(device)
    broken = False
    for path in paths:
        tag, readable = tag_file(path)
        if not readable:
            broken = True
            click.echo(safe_text(f"{path}: {tag.reason}"), err=True)
            if json_:
                emit_jsonl([{"path": path, "verdict": "error", "reason": tag.reason}])
            continue
        verdict = verify_tag(tag, device=dev, config=config_dict(path)).to_dict()
        row = {
            "path": path,
            "verdict": verdict["verdict"],
            "reason": verdict["reason"],
            "position_encoding": tag.position_encoding,
            "model_type": tag.model_type,
            "scaling_type": tag.scaling_type,
            "scaling_factor": tag.scaling_factor,
            "original_context": tag.original_context,
            "declared_context": tag.declared_context,
            "verify_fingerprint": tag.verify_fingerprint,
            "checks": verdict["checks"],
            "runtimes": verdict["runtimes"],
            "device": verdict["device"],
            "core_version": verdict["core_version"],
        }
        if json_:
            emit_jsonl([row])
        else:
            _print_verdict(row, all_)
    if broken:
        raise SystemExit(1)


def _print_verdict(row: dict[str, Any], all_: bool) -> None:

    console = make_console()
    scaling = f", {row['scaling_type']} x{row['scaling_factor']}" if row["scaling_type"] else ""
    head = f"{row['path']}: {row['verdict'].upper()} ({row['position_encoding']}{scaling})"
    console.print(safe_text(head), markup=False)
    if row["reason"]:
        console.print(f"  {safe_text(row['reason'])}", markup=False)
    shown = [c for c in row["checks"] if all_ or c["status"] in ("warn", "fail")]
    for check in shown:
        line = f"  {check['status']:>14}  {check['id']:<26} {check['message']}"
        console.print(safe_text(line), markup=False)
    hidden = len(row["checks"]) - len(shown)
    if hidden:
        console.print(f"  ({hidden} more checks pass or do not apply; --all lists them)")


@cli.command(name="verify")
@device_option
@click.option("--force", is_flag=True, help="Verify every fingerprint again, not only new ones.")
@click.option("--json", "json_", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def verify_catalog_cmd(ctx: click.Context, device: str, force: bool, json_: bool) -> None:
    """Verify the catalog once per distinct rope fingerprint and store the verdicts.

    Models that share every verifier input share one verdict; only fingerprints without a
    stored verdict run, unless --force.

    \b
    Example:
        ropedex verify
        ropedex --db catalog.db verify --device cpu --force --json
    """
    from registry.db import session_factory
    from registry.runs import logged_run

    dev = verify_device(device)
    make = session_factory(open_catalog(ctx))
    # A stopped run is logged as such; the verdicts committed batch by batch stay.
    with logged_run(make, "verify") as run, make() as session:
        summary = _verify_with_progress(session, dev, force)
        session.commit()
        run.status, run.counts = "ok", summary.to_dict()
    if json_:
        click.echo(to_json(summary.to_dict()))
        return
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_verdict.items())) or "none"
    click.echo(
        f"Verified {summary.checked} fingerprints on {summary.device} (skipped "
        f"{summary.skipped_existing} with a stored verdict): {verdicts}."
    )


def _verify_with_progress(session: Any, device: str, force: bool) -> Any:
    """`verify_catalog` with a rich progress bar on a terminal, plain lines otherwise."""
    from registry.verify.catalog import verify_catalog

    console = make_console(stderr=True)
    if not console.is_terminal:
        return verify_catalog(session, device=device, force=force, progress=_verify_lines)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("verify", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return verify_catalog(session, device=device, force=force, progress=update)


def _verify_lines(done: int, total: int) -> None:
    """Plain progress lines on stderr (every 100 fingerprints and at the end)."""
    if done % 100 == 0 or done == total:
        click.echo(f"verified {done}/{total}", err=True)
