"""downloads/: the catalog table as JSON and CSV, and the SQLite catalog itself."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from registry.sitegen.read import COLUMNS
from registry.sitegen.writer import SiteWriter

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def write_downloads(writer: SiteWriter, engine: Engine, rows: list[dict[str, Any]]) -> None:
    """`downloads/catalog.db` (a SQLite file on every backend), `models.json` and `models.csv`
    of the table."""
    ordered = sorted(rows, key=lambda r: r["repo_id"])
    writer.write(
        "downloads/models.json",
        json.dumps(ordered, indent=1, sort_keys=False, ensure_ascii=False) + "\n",
    )
    buffer = io.StringIO()
    out = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    out.writeheader()
    out.writerows(ordered)
    writer.write("downloads/models.csv", buffer.getvalue())
    target = writer.path("downloads/catalog.db")
    if engine.dialect.name != "sqlite":  # a server catalog: the same file, exported
        from registry.export import export_to_sqlite

        export_to_sqlite(engine, target)
    else:
        import sqlite3

        raw = engine.raw_connection()
        try:
            source = raw.driver_connection
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)  # type: ignore[union-attr]
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
        finally:
            raw.close()
    writer.summary.files += 1
    writer.summary.bytes += target.stat().st_size
