"""The PgBouncer pass really goes through PgBouncer (scripts/test's third pass).

Without these, a harness that quietly connected straight to PostgreSQL would pass
every other test of that pass and prove nothing about transaction pooling.
"""

import contextlib
import http.client

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from taskapi.core.db import Session, begin_transaction, get_engine
from tests.support.environment import TEST_PGBOUNCER_URL
from tests.support.servers import gunicorn
from tests.support.users import bearer, make_token, new_user_id

pytestmark = [pytest.mark.postgres_only, pytest.mark.pgbouncer_only]


@contextlib.contextmanager
def admin_console():
    """PgBouncer's admin console (the `pgbouncer` database): SHOW commands only,
    and no transactions, hence autocommit."""
    url = make_url(TEST_PGBOUNCER_URL)
    conn = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, dbname="pgbouncer"
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.close()


def show(cursor, what):
    """`SHOW what` on the console, as a list of dicts."""
    cursor.execute(f"SHOW {what}")
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_the_app_is_configured_for_pgbouncer(app, database_uri):
    engine = get_engine(app)

    assert app.config["DATABASE_POOL"] == "pgbouncer"
    assert isinstance(engine.pool, NullPool)
    assert engine.url.port == make_url(TEST_PGBOUNCER_URL).port
    assert make_url(database_uri).port == make_url(TEST_PGBOUNCER_URL).port


def test_the_apps_transactions_run_on_pgbouncers_server_connections(app):
    """While the app holds a transaction, PgBouncer lists the PostgreSQL backend
    running it as one of its own server connections, linked to a client."""
    with app.app_context():
        begin_transaction()
        backend_pid = Session.execute(text("SELECT pg_backend_pid()")).scalar()
        database = Session.execute(text("SELECT current_database()")).scalar()
        with admin_console() as console:
            servers = show(console, "SERVERS")
            pools = show(console, "POOLS")
        Session.rollback()
        Session.remove()

    ours = [s for s in servers if s["remote_pid"] == backend_pid]
    assert len(ours) == 1, servers
    assert ours[0]["database"] == database
    assert ours[0]["state"] == "active" and ours[0]["link"]  # serving our client
    (pool,) = [p for p in pools if p["database"] == database]
    assert pool["pool_mode"] == "transaction"
    assert pool["cl_active"] >= 1 and pool["sv_active"] >= 1


def transactions_seen(console, database) -> int:
    stats = [s for s in show(console, "STATS") if s["database"] == database]
    return int(stats[0]["total_xact_count"]) if stats else 0


def test_the_gunicorn_servers_of_the_tests_go_through_pgbouncer(
    app, database_uri, tmp_path
):
    user_id = new_user_id("carol")
    database = make_url(database_uri).database
    log_path = tmp_path / "gunicorn.log"
    with (
        admin_console() as console,
        gunicorn(database_uri, log_path, "--workers=1") as port,
    ):
        before = transactions_seen(console, database)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = bearer(make_token(user_id))
        connection.request("GET", f"/api/{user_id}/tasks", headers=headers)
        assert connection.getresponse().status == 200
        connection.close()
        after = transactions_seen(console, database)

    assert after > before  # the listing's statement reached PostgreSQL via PgBouncer
