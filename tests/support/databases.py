"""Databases and clusters: a fresh PostgreSQL database on the test server, the same
through PgBouncer, a database no other test uses, and a throwaway PostgreSQL
cluster of its own (the outage tests)."""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taskapi.config import database_url
from tests.support.environment import TEST_DATABASE_URL, TEST_PGBOUNCER_URL, on_postgres
from tests.support.servers import free_port


@contextlib.contextmanager
def fresh_database(name):
    """A new, empty PostgreSQL database on the test server; dropped afterwards.
    Yields its URL. The name carries the test run's id, so two runs sharing one
    server (developers, parallel sessions) never drop each other's databases."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    if not name.endswith(run[:8]):
        name = f"{name}_{run[:8]}"
    server = make_url(database_url(TEST_DATABASE_URL))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def through_the_pooler(url: str) -> str:
    """The same database reached through TEST_PGBOUNCER_URL's PgBouncer."""
    pooler = make_url(database_url(TEST_PGBOUNCER_URL))
    url = make_url(url).set(host=pooler.host, port=pooler.port)
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def own_database(name, sqlite_file):
    """A database no other test uses: a fresh PostgreSQL one called `name` on the
    PostgreSQL pass, else the SQLite file. Yields its URL."""
    if not on_postgres:
        yield f"sqlite:///{sqlite_file}"
        return
    with fresh_database(name) as url:
        yield url


class Cluster:
    """A throwaway PostgreSQL server, run as `postgres` when we are root."""

    def __init__(self):
        self.bin = Path(
            os.environ.get("TEST_PG_BIN")
            or sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        )
        self.dir = Path(tempfile.mkdtemp(prefix="taskapi-outage-"))
        self.port = free_port()
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_pg:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", self.dir / "data", "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, program, *args):
        subprocess.run(
            [*self.as_pg, self.bin / program, *map(str, args)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", self.dir / "data", "-l", self.dir / "server.log",
                 "-w", "-o", options, "start")  # fmt: skip

    def kill(self):
        """Stop as a crash does: backends die, clients' connections drop."""
        self.run("pg_ctl", "-D", self.dir / "data", "-m", "immediate", "stop")

    def remove(self):
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
