"""Catalog query speed on a large synthetic catalog, against the raw driver running the same SQL.

    .venv/bin/python benchmarks/bench_query.py            # 1,000,000 models, SQLite
    .venv/bin/python benchmarks/bench_query.py --rows 100000
    .venv/bin/python benchmarks/bench_query.py --backend postgresql   # a private PG cluster

Builds the catalog with the real schema (`open_engine`: a temporary SQLite file, or a database
in a private PostgreSQL cluster started as the tests start theirs, or `--pg-url`), fills it with
bulk inserts (COPY on PostgreSQL, then ANALYZE, as autovacuum would), then times each query
through `registry.queries.query_models` (SQLAlchemy session, rows as dicts) and through the raw
driver (`sqlite3` or `psycopg`) on the SQL that `compiled_sql` produces for that dialect,
alternately. Reports p50 and p95 of each and the ratio of the medians (ours / raw), and the
query plans.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.db import open_engine, session_factory  # noqa: E402
from registry.queries import ModelFilter, compiled_sql, parse_context, query_models  # noqa: E402

TAGS = [
    ("rope", 45),
    ("rope-yarn", 8),
    ("rope-llama3", 10),
    ("rope-llama3+nope", 1),
    ("rope-linear", 4),
    ("rope-dynamic", 3),
    ("rope-longrope", 2),
    ("rope-mrope", 5),
    ("learned-absolute", 12),
    ("alibi", 2),
    ("relative-bias", 4),
    ("none", 2),
    ("unknown", 2),
]
SCALING = {
    "rope-yarn": "yarn",
    "rope-llama3": "llama3",
    "rope-llama3+nope": "llama3",
    "rope-linear": "linear",
    "rope-dynamic": "dynamic",
    "rope-longrope": "longrope",
}
CONTEXTS = [512, 2048, 4096, 8192, 32768, 131072, 163840, 262144, 1048576]
FAMILIES = ["llama", "qwen", "mistral", "gemma", "deepseek", "phi", "bert", "t5", "gpt2", "olmo"]
VERDICTS = ["pass", "warn", "fail"]

QUERIES = {
    "pe=rope-yarn, min-context=128k, sort downloads, limit 50": ModelFilter(
        pe=("rope-yarn",), min_context=parse_context("128k"), sort="downloads", limit=50
    ),
    "family=qwen, sort context, limit 50": ModelFilter(family="qwen", sort="context", limit=50),
    "scaling=llama3, verdict=fail, sort likes, limit 50": ModelFilter(
        scaling="llama3", verdict="fail", sort="likes", limit=50
    ),
    "no filter, sort downloads, limit 50": ModelFilter(sort="downloads", limit=50),
    # Beyond the four standard queries: the longest contexts, a facts column sorted unfiltered.
    "no filter, sort context, limit 50": ModelFilter(sort="context", limit=50),
}


def build(path: Path, rows: int, *, analyze: bool, seed: int = 7) -> None:
    """A catalog of `rows` models, each with one snapshot and one facts row."""
    open_engine(str(path)).dispose()  # the real schema, indexes and version
    rng = random.Random(seed)
    tags = rng.choices([t for t, _ in TAGS], weights=[w for _, w in TAGS], k=rows)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")  # bulk load: no journal, indexes built afterwards
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    fps = [f"fp{i:04d}" for i in range(2000)]
    conn.executemany(
        "INSERT INTO verifications (fingerprint, verdict, checks, device, core_version, "
        "verified_at) VALUES (?, ?, '[]', 'cpu', '1', '2026-01-01')",
        [(fp, rng.choice(VERDICTS)) for fp in fps],
    )
    conn.executemany(
        "INSERT INTO models (id, repo_id, author, family, model_type, downloads, likes, "
        "status, private, snapshot_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'ok', 0, NULL)",
        (
            (
                i,
                f"org{i % 5000}/model-{i}",
                f"org{i % 5000}",
                fam,
                fam,
                int(rng.paretovariate(1.2) * 10),
                rng.randrange(1000),
            )
            for i in range(1, rows + 1)
            for fam in (rng.choice(FAMILIES),)
        ),
    )
    conn.executemany(
        "INSERT INTO config_snapshots (id, model_id, repo_id, fetched_at, content_hash, size) "
        "VALUES (?, ?, ?, '2026-01-01', ?, 1000)",
        ((i, i, f"org{i % 5000}/model-{i}", f"{i:064x}") for i in range(1, rows + 1)),
    )
    conn.executemany(
        "INSERT INTO position_facts (snapshot_id, tagger_version, position_encoding, rope_theta, "
        "scaling_type, scaling_factor, effective_context, verify_fingerprint) "
        "VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                tags[i - 1],
                1e4 if tags[i - 1].startswith("rope") else None,
                SCALING.get(tags[i - 1]),
                8.0 if tags[i - 1] in SCALING else None,
                rng.choice(CONTEXTS),
                rng.choice(fps) if tags[i - 1].startswith("rope") else None,
            )
            for i in range(1, rows + 1)
        ),
    )
    conn.execute("UPDATE models SET snapshot_id = id")
    for _name, sql in indexes:
        conn.execute(sql)
    conn.commit()
    if analyze:
        conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def build_pg(url: str, rows: int, seed: int = 7) -> None:
    """The same catalog as `build`, in the PostgreSQL database at `url` (COPY, then indexes)."""
    import psycopg

    open_engine(url).dispose()
    rng = random.Random(seed)
    tags = rng.choices([t for t, _ in TAGS], weights=[w for _, w in TAGS], k=rows)
    fps = [f"fp{i:04d}" for i in range(2000)]
    with psycopg.connect(driver_dsn(url)) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname NOT LIKE '%_pkey' AND indexname NOT IN (SELECT conname FROM "
            "pg_constraint)"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        with conn.cursor() as cur:
            copy = "COPY verifications (fingerprint, verdict, checks, device, core_version, "
            with cur.copy(copy + "verified_at) FROM STDIN") as out:
                for fp in fps:
                    out.write_row((fp, rng.choice(VERDICTS), "[]", "cpu", "1", "2026-01-01"))
            copy = "COPY models (id, repo_id, author, family, model_type, downloads, likes, "
            with cur.copy(copy + "status, private) FROM STDIN") as out:
                for i in range(1, rows + 1):
                    fam = rng.choice(FAMILIES)
                    downloads = int(rng.paretovariate(1.2) * 10)
                    row = (i, f"org{i % 5000}/model-{i}", f"org{i % 5000}", fam, fam)
                    out.write_row((*row, downloads, rng.randrange(1000), "ok", False))
            copy = "COPY config_snapshots (id, model_id, repo_id, fetched_at, content_hash, size) "
            with cur.copy(copy + "FROM STDIN") as out:
                for i in range(1, rows + 1):
                    out.write_row(
                        (i, i, f"org{i % 5000}/model-{i}", "2026-01-01", f"{i:064x}", 1000)
                    )
            copy = "COPY position_facts (snapshot_id, tagger_version, position_encoding, "
            copy += "rope_theta, scaling_type, scaling_factor, effective_context, "
            with cur.copy(copy + "verify_fingerprint) FROM STDIN") as out:
                for i in range(1, rows + 1):
                    tag = tags[i - 1]
                    out.write_row(
                        (
                            i, 1, tag, 1e4 if tag.startswith("rope") else None, SCALING.get(tag),
                            8.0 if tag in SCALING else None, rng.choice(CONTEXTS),
                            rng.choice(fps) if tag.startswith("rope") else None,
                        )
                    )  # fmt: skip
        conn.execute("UPDATE models SET snapshot_id = id")
        for _name, sql in indexes:
            conn.execute(sql)
        for table in ("models", "config_snapshots", "position_facts", "verifications"):
            seq = f"pg_get_serial_sequence('{table}', 'id')"
            conn.execute(f"SELECT setval({seq}, (SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(driver_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def driver_dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (what the raw driver connects with)."""
    from sqlalchemy import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fetch_all(conn: Any, sql: str, params: Any) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def paired_ms(
    ours: Callable[[], object], base: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of each run, run alternately so load on a shared machine hits both."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((ours, times[0]), (base, times[1])):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: a private one)")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE after loading (SQLite)")
    parser.add_argument("--keep", type=Path, help="build here (reused when it exists; SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "postgresql":
            run_postgresql(args)
        else:
            run_sqlite(args, args.keep or Path(tmp) / "bench.db")


HEADER = (
    "| query | rows | ours p50 (ms) | ours p95 (ms) | raw p50 (ms) | raw p95 (ms) | p50 ratio |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


def report(label: str, count: int, times: tuple[list[float], list[float]]) -> None:
    ours, base = statistics.median(times[0]), statistics.median(times[1])
    print(
        f"| {label} | {count} | {ours:.2f} | {p95(times[0]):.2f} | {base:.2f} "
        f"| {p95(times[1]):.2f} | {ours / base:.2f} |",
        flush=True,
    )


def time_queries(url: str, repeat: int) -> list[tuple[str, int, tuple[list[float], list[float]]]]:
    """Each of QUERIES through `query_models` and, alternately, its SQL through the raw driver
    of the catalog at `url` (checked to give the same repo ids): (label, rows, times)."""
    engine = open_engine(url, create=False)
    dialect = engine.dialect.name
    raw: Any = raw_connect(url, dialect)
    out = []
    try:
        with session_factory(engine)() as session:
            for label, f in QUERIES.items():
                sql, params = compiled_sql(f, dialect=dialect)
                got = query_models(session, f)
                expected = raw.execute(sql, params).fetchall()
                assert [r["repo_id"] for r in got] == [r[0] for r in expected], label
                ours = partial(query_models, session, f)
                times = paired_ms(ours, partial(fetch_all, raw, sql, params), repeat)
                out.append((label, len(got), times))
    finally:
        raw.close()
        engine.dispose()
    return out


def raw_connect(url: str, dialect: str) -> Any:
    """The raw driver's own connection to the catalog at `url`."""
    if dialect == "postgresql":
        import psycopg

        return psycopg.connect(driver_dsn(url))
    return sqlite3.connect(url)


def print_plans(url: str) -> None:
    """The query plan of each of QUERIES (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL)."""
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    raw = raw_connect(url, dialect)
    try:
        for label, f in QUERIES.items():
            sql, params = compiled_sql(f, dialect=dialect)
            if dialect == "postgresql":
                plan = [r[0] for r in raw.execute(f"EXPLAIN {sql}", params)]
            else:
                plan = [r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            print(f"\nplan, {label}:")
            for line in plan:
                print(f"  {line}")
    finally:
        raw.close()


def measure(url: str, repeat: int) -> None:
    print(HEADER)
    for label, count, times in time_queries(url, repeat):
        report(label, count, times)
    print_plans(url)


def run_sqlite(args: argparse.Namespace, path: Path) -> None:
    if not path.exists():
        start = time.perf_counter()
        build(path, args.rows, analyze=args.analyze)
        print(f"built {args.rows:,} models in {time.perf_counter() - start:.1f} s")
    measure(str(path), args.repeat)


def run_postgresql(args: argparse.Namespace) -> None:
    cluster = None
    url = args.pg_url
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pgcluster import pg_bin_dir, start_cluster

        bindir = pg_bin_dir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found; install postgresql-15 or --pg-url")
        cluster = start_cluster(bindir)
        url = cluster.create_database()
    try:
        start = time.perf_counter()
        build_pg(url, args.rows)
        print(f"built {args.rows:,} models in {time.perf_counter() - start:.1f} s")
        measure(url, args.repeat)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
