"""Verifier commands: `ropedex check` (config files), `ropedex verify` (the catalog)."""

from __future__ import annotations

from typing import Any

import click

from registry.cli import cli
from registry.cli.gguf import check_gguf_path
from registry.cli.options import (
    ConfigFile,
    device_option,
    json_nl_options,
    open_catalog,
    verify_device,
)
from registry.cli.output import emit_jsonl, make_console, safe_text, to_json


@cli.command(name="check")
@click.argument(
    "inputs", nargs=-1, required=True, metavar="PATH|ORG/NAME[@REV]...", type=ConfigFile()
)
@json_nl_options
@click.option("--all", "all_", is_flag=True, help="List every check, not only warn and fail.")
@device_option
@click.pass_context
def verify_check(
    ctx: click.Context, inputs: tuple[str, ...], json_: bool, nl: bool, all_: bool, device: str
) -> None:
    """Tag configs and verify their declared RoPE scaling with yarn_core.

    Each input is a config.json path or a repo id ORG/NAME[@revision]: a repo id is read from
    the catalog when it holds the model, else from the Hub (HF_ENDPOINT, HF_TOKEN and
    HF_HUB_OFFLINE are honoured). A path that exists wins over a repo id.

    Verdict per input: pass, warn (odd but possibly intended), fail (a real defect) or n/a (no
    rotary embedding). Exit status 0 when every verdict is pass, warn or n/a, 2 when any is
    fail, 1 when any input could not be read (that wins over 2).

    \b
    Example:
        ropedex check path/to/config.json
        ropedex check deepseek-ai/DeepSeek-V3 --json
        ropedex check configs/*.json --nl --device cpu
    """
    from registry.cli.inputs import make_resolver

    if json_ and nl:
        raise click.UsageError("Choose one of --json and --nl.")
    dev = verify_device(device)
    resolve = make_resolver(ctx)
    rows: list[dict[str, Any]] = []
    broken = failed = False
    for arg in inputs:
        if arg.lower().endswith(".gguf"):  # a GGUF: its header against its source config
            failed = check_gguf_path(arg, json_ or nl) or failed
            continue
        row = _stored_row(ctx, arg) or _check_row(resolve(arg), dev)
        broken = broken or row["verdict"] == "error"
        failed = failed or row["verdict"] == "fail"
        if row["verdict"] == "error":
            click.echo(safe_text(f"{arg}: {row['reason']}"), err=True)
        if nl:
            emit_jsonl([row])
        elif json_:
            rows.append(row)
        elif row["verdict"] != "error":
            _print_verdict(row, all_)
    if json_:
        click.echo(to_json(rows))
    if broken:
        raise SystemExit(1)
    if failed:
        raise SystemExit(2)


def _stored_row(ctx: click.Context, arg: str) -> dict[str, Any] | None:
    """The catalog's stored verdict for a repo id whose config text the catalog does not keep
    (a published catalog strips it); None when the config itself can be read instead."""
    from registry.cli.inputs import stored
    from registry.db import session_factory
    from registry.lead import build_lead
    from registry.queries import get_model

    found = stored(ctx, arg)
    if found is None or found[1].text is not None:
        return None
    repo_id, snapshot = found
    with session_factory(open_catalog(ctx, readonly=True))() as session:
        data = get_model(session, repo_id)
    from registry.verify.verdict import NA_REASON

    facts, verification = data["facts"], data["verification"]
    if facts is None or (snapshot.commit_sha or "") != (data["model"].get("sha") or ""):
        return None  # no facts, or a revision other than the current one: read the config
    if verification is None and facts.get("verify_fingerprint") is None:  # nothing to verify
        verification = {"verdict": "n/a", "checks": [], "runtimes": {}, "device": None}
        verification["core_version"] = None
    if verification is None:  # not verified yet
        return None
    verdict = verification["verdict"]
    return {
        "path": arg,
        "source": "catalog",
        "repo_id": repo_id,
        "revision": snapshot.commit_sha,
        "stored": True,
        "verdict": verdict,
        "reason": NA_REASON if verdict == "n/a" else None,
        **{key: facts.get(key) for key in _FACT_KEYS},
        "model_type": data["model"].get("model_type"),
        "checks": verification["checks"],
        "runtimes": verification["runtimes"],
        "device": verification["device"],
        "core_version": verification["core_version"],
        "lead": build_lead(facts, verification, data["model"].get("model_type")),
    }


_FACT_KEYS = (
    "position_encoding",
    "scaling_type",
    "scaling_factor",
    "original_context",
    "declared_context",
    "verify_fingerprint",
)


def _check_row(inp: Any, device: str) -> dict[str, Any]:
    """The verdict row of one resolved input (verdict `error` when it could not be read)."""
    from registry.lead import build_lead
    from registry.resolve_input import tag_input
    from registry.verify.verdict import verify_tag

    where = {"path": inp.label, "source": inp.source, "repo_id": inp.repo_id}
    where.update(revision=inp.revision, stored=False)
    tag, readable, config = tag_input(inp)
    if not readable:
        return {**where, "verdict": "error", "reason": tag.reason, "lead": None}
    verdict = verify_tag(tag, device=device, config=config).to_dict()
    return {
        **where,
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
        "lead": build_lead(tag.to_dict(), verdict, tag.model_type),
    }


def _print_verdict(row: dict[str, Any], all_: bool) -> None:
    from registry.formatting import fmt_num
    from registry.lead import lead_lines

    console = make_console()

    scaling = ""
    if row["scaling_type"]:
        scaling = f", {row['scaling_type']} x{fmt_num(row['scaling_factor'])}"
    head = f"{row['path']}: {row['verdict'].upper()} ({row['position_encoding']}{scaling})"
    console.print(safe_text(head), markup=False)
    for line in lead_lines(row["lead"]) if row["lead"] else []:
        console.print(f"  {safe_text(line)}", markup=False)
    if row["reason"]:
        console.print(f"  {safe_text(row['reason'])}", markup=False)
    if row.get("stored"):
        by = f" by {row['core_version']}" if row["core_version"] else ""
        note = f"  verdict stored in the catalog{by}, for commit {row['revision']}"
        console.print(safe_text(note), markup=False)
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
