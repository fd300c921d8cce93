"""A private PostgreSQL cluster for the tests: initdb + pg_ctl in a temporary folder, unix socket
only (no TCP), run as an unprivileged user when the tests run as root (initdb refuses root).

The binaries are looked up in ROPEDEX_PG_BIN, then /usr/lib/postgresql/*/bin, then PATH. When
they are missing the PostgreSQL half of the suite fails with a clear message, unless
ROPEDEX_NO_POSTGRES=1 says explicitly that this run is SQLite only.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNPRIVILEGED = "nobody"
_names = itertools.count(1)


def pg_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    explicit = os.environ.get("ROPEDEX_PG_BIN")
    if explicit:
        return Path(explicit)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgres_disabled() -> bool:
    return os.environ.get("ROPEDEX_NO_POSTGRES", "").strip() == "1"


@dataclass
class Cluster:
    root: Path
    bindir: Path
    user: str | None  # the OS user the server runs as (None: the current one)

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self) -> None:
        data = self.root / "data"
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(data), "-U", "ropedex", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses='' -k {self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                "-w", "stop",
            )  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://ropedex@/{database}?host={self.socket_dir}"

    def _admin(self) -> object:
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir), user="ropedex", dbname="postgres", autocommit=True
        )

    def create_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        name = f"catalog_{os.getpid()}_{next(_names)}"
        with self._admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self._admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_cluster(bindir: Path) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="ropedex-pg-"))
    user = None
    if os.geteuid() == 0:
        user = UNPRIVILEGED
        shutil.chown(root, user=user)
    os.chmod(root, 0o755)
    (root / "sock").mkdir()
    if user is not None:
        shutil.chown(root / "sock", user=user)
    cluster = Cluster(root, bindir, user)
    try:
        cluster.start()
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
