"""Catalog commands: `ropedex ingest`, `query`, `show`, `sql`, `stats`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from registry.cli import cli
from registry.cli.options import device_option, open_catalog, output_options, verify_device
from registry.cli.output import (
    emit_table,
    make_console,
    pairs_table,
    rows_table,
    safe_text,
    to_json,
)


@cli.command(name="ingest")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--batch-size", default=200, show_default=True, help="Configs per transaction.")
@click.option("--retag", is_flag=True, help="Also re-tag stored configs from an older tagger.")
@click.option("--json", "json_", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def catalog_ingest(
    ctx: click.Context, directory: Path, batch_size: int, retag: bool, json_: bool
) -> None:
    """Ingest every ORG/NAME/config.json (+ optional hub.json) under DIRECTORY.

    Bad files become recorded per-model errors; every good config still lands. Re-ingesting
    the same folder writes nothing new.

    \b
    Example:
        ropedex ingest hub-tree/
        ropedex --db other.db ingest hub-tree/ --json
    """
    from rich.progress import Progress

    from registry.db import session_factory
    from registry.retag import retag_all
    from registry.sync import check_tree_root, ingest_tree

    check_tree_root(directory)
    engine = open_catalog(ctx, create=True)
    with Progress(console=make_console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int, _repo_id: str) -> None:
            bar.update(task, completed=done, total=total)

        summary = ingest_tree(engine, directory, batch_size=batch_size, progress=progress)
    retagged = 0
    if retag:
        with session_factory(engine)() as session:
            retagged = retag_all(session)
            session.commit()
    errors = [
        {"repo_id": e.repo_id, "status": e.status, "reason": e.reason, "detail": e.detail}
        for e in summary.errors
    ]
    if json_:
        out = {"run_id": summary.run_id, "total": summary.total, **summary.counts}
        click.echo(to_json({**out, "retagged": retagged, "errors": errors}))
        return
    for err in errors:
        text = f"{err['repo_id']}: {err['reason']}: {err['detail']}"
        click.echo(safe_text(text), err=True)
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    extra = f", retagged {retagged}" if retag else ""
    click.echo(f"Ingested {summary.total} folders (run {summary.run_id}): {counts}{extra}.")


# Short headers so the table fits 80 columns; --json and --csv keep the full key names.
QUERY_LABELS = {
    "position_encoding": "encoding",
    "rope_theta": "theta",
    "scaling_type": "scaling",
    "scaling_factor": "factor",
    "original_context": "original",
    "effective_context": "context",
}


@cli.command(name="query")
@click.option("--pe", multiple=True, help="Position-encoding tag, repeatable (rope-yarn...).")
@click.option("--family", help="Model family (llama, qwen, deepseek...).")
@click.option("--author", help="Hub organisation or user (case-insensitive).")
@click.option("--model-type", help="config.json model_type.")
@click.option("--min-context", help="Smallest effective context: 32768, 128k, 1M (k = 1024).")
@click.option("--scaling", help="RoPE scaling type (yarn, llama3, linear...) or none.")
@click.option("--verdict", help="Verifier verdict: pass, warn, fail or unverified.")
@click.option("--search", help="Substring of the repo id.")
@click.option(
    "--sort",
    default="downloads",
    show_default=True,
    help="downloads, likes, modified, repo_id, context, theta or factor; add :asc or :desc.",
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(0, 2**62),
    help="Rows to show; 0 for all.",
)
@click.option("--offset", default=0, type=click.IntRange(0, 2**62), help="Rows to skip.")
@output_options
@click.pass_context
def catalog_query(
    ctx: click.Context,
    pe: tuple[str, ...],
    family: str | None,
    author: str | None,
    model_type: str | None,
    min_context: str | None,
    scaling: str | None,
    verdict: str | None,
    search: str | None,
    sort: str,
    limit: int,
    offset: int,
    json_: bool,
    nl: bool,
    csv_: bool,
) -> None:
    """List models by position encoding, context, scaling and verdict.

    \b
    Example:
        ropedex query --pe rope-yarn --min-context 128k
        ropedex query --family qwen --sort context --json
        ropedex query --scaling llama3 --verdict fail --csv
    """
    from registry.db import session_factory
    from registry.formatting import fmt_num, fmt_theta, fmt_tokens
    from registry.queries import ROW_KEYS, ModelFilter, parse_context, query_models

    filt = ModelFilter(
        pe=pe,
        family=family,
        author=author,
        model_type=model_type,
        min_context=parse_context(min_context) if min_context else None,
        scaling=scaling,
        verdict=verdict,
        search=search,
        sort=sort,
        limit=limit or None,
        offset=offset,
    )
    with session_factory(open_catalog(ctx))() as session:
        rows = query_models(session, filt)
    shown = ["repo_id", "position_encoding", "rope_theta", "scaling_type", "scaling_factor"]
    shown += ["original_context", "effective_context", "verdict", "downloads"]
    ctx_fmt = dict.fromkeys(
        ("original_context", "effective_context"), functools.partial(fmt_tokens, missing="")
    )
    ctx_fmt["rope_theta"] = functools.partial(fmt_theta, missing="")
    ctx_fmt["scaling_factor"] = functools.partial(fmt_num, missing="")
    emit_table(
        rows,
        json_=json_,
        nl=nl,
        csv_=csv_,
        columns=list(ROW_KEYS),
        table_columns=shown,
        formatters=ctx_fmt,
        labels=QUERY_LABELS,
        priority=("effective_context", "verdict", "position_encoding", "scaling_type"),
    )
    if limit and len(rows) == limit and not (json_ or nl or csv_):
        click.echo(f"First {limit} rows; --limit 0 shows all, --offset pages.", err=True)


@cli.command(name="show")
@click.argument("repo_id", metavar="ORG/NAME[@REV]|PATH")
@click.option("--json", "json_", is_flag=True, help="Everything as one JSON object.")
@device_option
@click.pass_context
def catalog_show(ctx: click.Context, repo_id: str, json_: bool, device: str) -> None:
    """Everything known about one model: facts, evidence, verdict and checks, history.

    A model the catalog does not hold (or a config.json path, or ORG/NAME@revision at another
    commit) is read from the Hub (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE) and verified now.

    \b
    Example:
        ropedex show deepseek-ai/DeepSeek-V3
        ropedex show openai/gpt-oss-20b --json
    """
    from registry.cli.show_live import live_model
    from registry.db import session_factory
    from registry.errors import CatalogError
    from registry.lead import build_lead
    from registry.queries import get_model
    from registry.resolve_input import parse_repo_ref

    is_path = Path(repo_id).exists()
    ref = None if is_path else parse_repo_ref(repo_id)
    data, not_found = None, None
    if not is_path and (ref is None or ref[1] is None):
        try:
            with session_factory(open_catalog(ctx))() as session:
                data = get_model(session, repo_id)
        except CatalogError as exc:
            if ref is None:  # neither a file nor a repo id: the catalog's own advice
                raise
            not_found = str(exc)
    if data is None:
        data = live_model(ctx, repo_id, verify_device(device), not_found=not_found)
    if data.get("facts") is not None or data.get("verification") is not None:
        model_type = (data.get("model") or {}).get("model_type")
        data["lead"] = build_lead(data.get("facts"), data.get("verification"), model_type)
    if json_:
        click.echo(to_json(data))
        return
    for renderable in _show_parts(data):
        make_console().print(renderable)


def _show_parts(data: dict[str, Any]) -> list[Any]:
    from rich.text import Text

    from registry.cli.runtime_table import runtime_rows
    from registry.formatting import fmt_value
    from registry.lead import lead_lines

    model, facts, verification = data["model"], data["facts"], data["verification"]
    lead = [lead_lines(data["lead"])] if data.get("lead") else []
    keys = ["repo_id", "path", "source", "author", "family", "model_type", "status", "error"]
    keys += ["downloads", "likes", "license", "gated", "base_model", "last_modified", "sha"]
    parts: list[Any] = [Text("\n".join(line)) for line in lead]
    parts.append(pairs_table([(k, model[k]) for k in keys if model.get(k) is not None]))
    if facts is None:
        parts.append(pairs_table([("facts", "none (no good config stored yet)")]))
    else:
        # effective/usable context are stored columns; the lead above names the served figures
        skip = {"evidence", "warnings", "details", "rope_parameters", "per_layer", "raw_rope"}
        skip |= {"effective_context", "usable_context"}
        pairs = [(k, fmt_value(v)) for k, v in facts.items() if v is not None and k not in skip]
        parts.append(pairs_table(pairs, title="Position encoding"))
        evidence = [{"key": k, "value": fmt_value(v)} for k, v in (facts["evidence"] or {}).items()]
        if evidence:
            parts.append(rows_table(evidence, title="Evidence", keys=("key",)))
        for warning in facts["warnings"] or []:
            parts.append(pairs_table([("warning", warning)]))
    if verification is not None:
        parts.append(pairs_table([("verdict", verification["verdict"])], title="Verification"))
        runtimes = runtime_rows(verification.get("runtimes"), model.get("model_type"))
        if runtimes:
            parts.append(
                rows_table(runtimes, title="Served context per runtime", keys=("runtime",))
            )
        checks = [c if isinstance(c, dict) else {"check": c} for c in verification["checks"] or []]
        if checks:  # the numbers behind each check are in --json
            found = dict.fromkeys(["id", "status", "message", *(k for c in checks for k in c)])
            found.pop("numbers", None)
            check_cols = [c for c in found if any(c in check for check in checks)]
            parts.append(rows_table(checks, check_cols, title="Checks", keys=("id",)))
    else:
        parts.append(pairs_table([("verdict", "unverified")], title="Verification"))
    if data["changes"]:
        cols = ["changed_at", "field_path", "old_value", "new_value", "commit_sha"]
        value: Callable[[Any], str] = fmt_value
        values = {"old_value": value, "new_value": value}
        parts.append(rows_table(data["changes"], cols, title="History", formatters=values))
    if data["errors"]:
        parts.append(rows_table(data["errors"], ["at", "reason", "detail"], title="Errors"))
    return parts


@cli.command(name="sql")
@click.argument("statement")
@output_options
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.01, max=86400),
    help="Seconds the statement may run.",
)
@click.option(
    "--max-rows",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1, max=100_000_000),
    help="Most rows returned.",
)
@click.pass_context
def catalog_sql(
    ctx: click.Context,
    statement: str,
    json_: bool,
    nl: bool,
    csv_: bool,
    timeout: float,
    max_rows: int,
) -> None:
    """Run one read-only SQL statement on the catalog (opened read-only: nothing can write).

    The statement is stopped with a one-line error past --timeout seconds, past --max-rows
    rows, or when it needs too much memory (see docs/robustness.md).

    \b
    Example:
        ropedex sql "SELECT position_encoding, count(*) FROM position_facts GROUP BY 1"
        ropedex sql "SELECT repo_id, downloads FROM models ORDER BY downloads DESC LIMIT 5" --csv
    """
    from registry.queries import run_sql
    from registry.sqlguard import SqlLimits

    limits = SqlLimits(timeout=timeout, max_rows=max_rows)
    names, rows = run_sql(open_catalog(ctx, readonly=True), statement, limits)
    dict_rows = [dict(zip(names, r, strict=True)) for r in rows]
    emit_table(dict_rows, json_=json_, nl=nl, csv_=csv_, columns=names)


@cli.command(name="stats")
@click.option("--json", "json_", is_flag=True, help="Output JSON.")
@click.pass_context
def catalog_stats(ctx: click.Context, json_: bool) -> None:
    """Model counts per position-encoding tag, scaling type, family and verdict.

    \b
    Example:
        ropedex stats
        ropedex stats --json
    """
    from registry.db import session_factory
    from registry.queries import stats

    with session_factory(open_catalog(ctx))() as session:
        data = stats(session)
    if json_:
        click.echo(to_json(data))
        return
    console = make_console()
    console.print(f"{data['models']} models, {data['not_ok']} with a fetch problem")
    for section in ("position_encoding", "scaling_type", "family", "verdict"):
        rows = [{section: k, "models": v} for k, v in data[section].items()]
        if rows:
            console.print(rows_table(rows, title=section))
