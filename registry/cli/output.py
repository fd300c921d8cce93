"""Rendering rows for people and scripts: a rich table, JSON (a list of flat objects) or CSV.

The formatters return values; the `emit_*` helpers are the ones that write them to stdout.
Model-supplied strings are untrusted: in tables they are shown as plain text (no rich markup)
with control characters replaced, so a repo id cannot restyle or move the terminal cursor.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.table import Table

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_text(value: Any) -> str:
    """A cell as display text: JSON for lists and dicts, control characters replaced by `?`."""
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float):
        value = f"{value:g}"
    return _CONTROL.sub("?", str(value))


def to_json(rows: Any) -> str:
    """Pretty JSON text of rows (or any JSON-ready value); non-finite floats become null."""
    return json.dumps(_finite(rows), indent=2, ensure_ascii=False, default=str)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV text with a header row; lists and dicts become JSON text in their cell."""
    names = list(columns or (rows[0].keys() if rows else ()))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in names])
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def rows_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
    formatters: dict[str, Callable[[Any], str]] | None = None,
) -> Table:
    """A rich Table of rows; every cell is plain text (markup in values is not interpreted)."""
    from rich.table import Table
    from rich.text import Text

    names = list(columns or dict.fromkeys(k for row in rows for k in row))
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in names:
        numeric = bool(rows) and isinstance(rows[0].get(name), int | float)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    fmt = formatters or {}
    for row in rows:
        cells = [fmt.get(n, safe_text)(row.get(n)) for n in names]
        table.add_row(*[Text(_CONTROL.sub("?", c)) for c in cells])
    return table


def pairs_table(pairs: Iterable[tuple[str, Any]], *, title: str | None = None) -> Table:
    """A two-column key/value rich Table (plain text cells)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in pairs:
        table.add_row(Text(safe_text(key)), Text(safe_text(value)))
    return table


def emit_jsonl(rows: list[dict[str, Any]]) -> None:
    """One JSON object per line on stdout."""
    for row in rows:
        click.echo(json.dumps(row, sort_keys=False, default=str))


def emit_json_rows(rows: list[dict[str, Any]], *, json_: bool, nl: bool) -> bool:
    """Rows as one JSON array (`--json`) or JSON Lines (`--nl`); False when neither was asked."""
    if json_ and nl:
        raise click.UsageError("Choose one of --json and --nl.")
    if nl:
        emit_jsonl([_finite(row) for row in rows])
    elif json_:
        click.echo(to_json(rows))
    return json_ or nl


def emit_rows(
    rows: list[dict[str, Any]],
    *,
    json_: bool,
    nl: bool = False,
    show: Callable[[list[dict[str, Any]]], None],
    failed: bool,
) -> None:
    """JSON (one array), JSON Lines or the command's readable form; exit status 1 when an input
    failed."""
    if not emit_json_rows(rows, json_=json_, nl=nl):
        show(rows)
    if failed:
        raise SystemExit(1)


def make_console(stderr: bool = False) -> Any:
    """A rich Console for stdout (or stderr); 200 columns wide when piped, not 80."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:  # piped: do not fold cells to an assumed 80 columns
        console.width = 200
    return console


def emit_table(
    rows: list[dict[str, Any]],
    *,
    json_: bool,
    csv_: bool,
    nl: bool = False,
    table_columns: list[str] | None = None,
    formatters: dict[str, Any] | None = None,
    columns: list[str] | None = None,
) -> None:
    """JSON, JSON Lines, CSV or a table of rows on stdout (`No rows.` on stderr when there are
    none)."""
    if json_ + csv_ + nl > 1:
        raise click.UsageError("Choose one of --json, --nl and --csv.")
    if emit_json_rows(rows, json_=json_, nl=nl):
        return
    if csv_:
        click.echo(to_csv(rows, columns), nl=False)
    elif not rows:
        click.echo("No rows.", err=True)
    else:
        make_console().print(rows_table(rows, table_columns or columns, formatters=formatters))
