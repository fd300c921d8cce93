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
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    from rich.table import Table

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
KEY_COLUMNS = ("repo_id", "path")  # never wrapped: an id must stay whole on one line


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
    labels: dict[str, str] | None = None,
    keys: Sequence[str] = KEY_COLUMNS,
    ellipsis: bool = False,
    fit_width: int | None = None,
    priority: Sequence[str] = (),
) -> Table:
    """A rich Table of rows; every cell is plain text (markup in values is not interpreted).

    Key columns (repo ids, paths) are never wrapped or cut, so an id stays on one line; the other
    columns fold to the console width, or end in an ellipsis with `ellipsis`. `labels` renames
    headers. With `fit_width`, trailing columns that cannot fit that width are left out (the
    caption names them)."""
    from rich.table import Table
    from rich.text import Text

    names = list(columns or dict.fromkeys(k for row in rows for k in row))
    table = Table(title=title, show_lines=False, header_style="bold")
    fmt = formatters or {}
    cells = [[_CONTROL.sub("?", fmt.get(n, safe_text)(row.get(n))) for n in names] for row in rows]
    if fit_width is not None:
        kept = fitting_columns(names, cells, labels or {}, keys, fit_width, priority)
        hidden = [(labels or {}).get(n, n) for n in names if n not in kept]
        table.caption = _hidden_caption(hidden, fit_width)
        cells = [[row[names.index(n)] for n in kept] for row in cells]
        names = kept
    for i, name in enumerate(names):
        numeric = bool(rows) and isinstance(rows[0].get(name), int | float)
        justify: Literal["right", "left"] = "right" if numeric else "left"
        header = (labels or {}).get(name, name)
        if name in keys:
            width = max([len(header), *(len(row[i]) for row in cells)])
            table.add_column(header, justify=justify, no_wrap=True, min_width=width)
        elif ellipsis:
            table.add_column(header, justify=justify, overflow="ellipsis")
        else:
            table.add_column(header, justify=justify, overflow="fold")
    for row_cells in cells:
        table.add_row(*[Text(c) for c in row_cells])
    return table


_MIN_CELL = 6  # narrowest a cut column gets before it is left out


def fitting_columns(
    names: Sequence[str],
    cells: Sequence[Sequence[str]],
    labels: dict[str, str],
    keys: Sequence[str],
    width: int,
    priority: Sequence[str] = (),
) -> list[str]:
    """The columns that fit `width`, taken in `priority` order (then left to right) and shown in
    their own order: key columns whole, others cut to a few characters at least. The key
    columns and one other column always stay."""
    needed = 1  # the closing border
    chosen: set[str] = set()
    order = [*keys, *priority, *names]
    for name in dict.fromkeys(n for n in order if n in names):
        i = names.index(name)
        header = labels.get(name, name)
        natural = max([len(header), *(len(row[i]) for row in cells)])
        cell = natural if name in keys else min(natural, max(_MIN_CELL, len(header)))
        others = [n for n in chosen if n not in keys]
        if name not in keys and others and needed + cell + 3 > width:
            continue
        chosen.add(name)
        needed += cell + 3  # padding on both sides and a border
    return [n for n in names if n in chosen]


def _hidden_caption(hidden: list[str], width: int) -> str | None:
    if not hidden:
        return None
    return f"Not shown at {width} columns: {', '.join(hidden)} (--json shows all)"


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
    """A rich Console for stdout (or stderr): the terminal's width, COLUMNS when set, else 200
    columns when piped (not an assumed 80)."""
    import os

    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        console.width = int(columns)
    elif not console.is_terminal:
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
    labels: dict[str, str] | None = None,
    priority: Sequence[str] = (),
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
        console = make_console()
        table = rows_table(
            rows,
            table_columns or columns,
            formatters=formatters,
            labels=labels,
            ellipsis=True,
            fit_width=console.width,
            priority=priority,
        )
        console.print(table)
