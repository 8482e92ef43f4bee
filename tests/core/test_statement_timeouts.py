"""Every wait in the database has a deadline.

A statement that runs past DATABASE_STATEMENT_TIMEOUT, or waits for a lock past
DATABASE_LOCK_TIMEOUT, is cancelled by the database, and the request answers 503
with Retry-After and the JSON error body: no thread hangs on it. Migrations and
the purge are exempt from the statement timeout. Direct connections carry the
timeouts in libpq's startup `options`; behind a transaction-pooling PgBouncer,
which refuses those, `flask db upgrade` makes them the role's defaults.
"""

import contextlib
import time

import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from taskapi import config, create_app
from taskapi.core.db import Session, begin_transaction, get_engine
from taskapi.core.timeouts import lift_statement_timeout
from tests.support.bulk import add_tasks
from tests.support.databases import own_database, through_the_pooler
from tests.support.environment import TEST_PGBOUNCER_URL, config_with, on_postgres
from tests.support.responses import assert_error
from tests.support.servers import LiveServer, gunicorn
from tests.support.users import SECRET, User, new_user_id

EMOJI = "\U0001f600"
BY_ROLE = "behind PgBouncer the timeouts are the role's defaults (see the last tests)"


@contextlib.contextmanager
def row_locked(database_uri, task_id):
    """Another client holds the task's row lock (FOR UPDATE) for the block."""
    engine = create_engine(database_uri)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(
                text("SELECT id FROM tasks WHERE id = :id FOR UPDATE"), {"id": task_id}
            )
            yield
    finally:
        engine.dispose()


def assert_cancelled(response):
    body = assert_error(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert "took too long" in body["detail"]


@pytest.fixture(scope="module")
def slow_search(make_app):
    """A user with 2,000 tasks that a crafted `q` must read through, and that
    `q`: a listing that takes the database tens of milliseconds or more."""
    app = make_app(API_RATE_LIMIT="100000/minute")
    user = User(app.test_client(), new_user_id("searcher"))
    description = EMOJI * 2 + "c" + EMOJI * 1997
    for _batch in range(40):
        operations = [
            {"op": "create", "body": {"title": "Wall", "description": description}}
            for _ in range(50)
        ]
        response = user.post("/tasks/batch", json={"operations": operations})
        assert response.status_code == 200, response.get_json()
    return user.id, EMOJI * 199 + "c"


@pytest.mark.no_pgbouncer(BY_ROLE)
def test_a_listing_that_runs_past_the_statement_timeout_answers_503(
    make_app, slow_search
):
    user_id, q = slow_search
    impatient = make_app(DATABASE_STATEMENT_TIMEOUT=0.02, DATABASE_LOCK_TIMEOUT=0.02)
    user = User(impatient.test_client(), user_id)
    assert user.get("/tasks?per_page=1").status_code == 200  # a quick one is fine

    response = user.get("/tasks", query_string={"q": q})

    assert_cancelled(response)
    patient = User(make_app().test_client(), user_id)
    assert patient.get("/tasks", query_string={"q": q}).status_code == 200


@pytest.mark.postgres_only
@pytest.mark.no_pgbouncer(BY_ROLE)
def test_a_write_waiting_for_a_lock_answers_503_within_the_lock_timeout(
    database_uri, tmp_path
):
    """Under a real gunicorn: the write gives up after the lock timeout instead
    of holding its thread until the lock is released, and the server answers
    everyone else meanwhile."""
    log = tmp_path / "gunicorn.log"
    with gunicorn(
        database_uri,
        log,
        "--workers=1",
        "--threads=4",
        DATABASE_LOCK_TIMEOUT="0.5",
        DATABASE_STATEMENT_TIMEOUT="30",
    ) as port:
        alice = LiveServer("127.0.0.1", port).user("alice")
        task = alice.request("POST", "/tasks", json={"title": "Contended"}).get_json()

        with row_locked(database_uri, task["id"]):
            started = time.monotonic()
            response = alice.request(
                "PATCH", f"/tasks/{task['id']}", json={"title": "Mine"}
            )
            elapsed = time.monotonic() - started
            health = LiveServer("127.0.0.1", port).request("GET", "/health")

        assert_cancelled(response)
        assert elapsed < 5, f"the write waited {elapsed:.1f} s"
        assert health.status_code == 200
        after = alice.request("PATCH", f"/tasks/{task['id']}", json={"title": "Mine"})
        assert after.status_code == 200


@pytest.mark.postgres_only
@pytest.mark.no_pgbouncer(BY_ROLE)
def test_a_lock_wait_also_ends_at_the_statement_timeout(make_app, database_uri):
    app = make_app(DATABASE_STATEMENT_TIMEOUT=0.5, DATABASE_LOCK_TIMEOUT=0)
    alice = User(app.test_client(), new_user_id("alice"))
    task = alice.create(title="Contended")

    with row_locked(database_uri, task["id"]):
        started = time.monotonic()
        response = alice.patch(f"/tasks/{task['id']}", json={"title": "Mine"})
        elapsed = time.monotonic() - started

    assert_cancelled(response)
    assert 0.4 < elapsed < 5


def session_timeouts(app) -> tuple[str, str]:
    """The statement and lock timeouts a connection of the app's starts with."""
    with app.app_context():
        settings = Session.execute(
            text("SELECT current_setting('statement_timeout'), "
                 "current_setting('lock_timeout')")
        ).one()  # fmt: skip
        Session.remove()
    return tuple(settings)


@pytest.mark.postgres_only
@pytest.mark.no_pgbouncer(BY_ROLE)
def test_the_apps_connections_start_with_the_timeouts(make_app):
    """They ride in the connection's startup packet: no statement per request."""
    app = make_app(DATABASE_STATEMENT_TIMEOUT=3, DATABASE_LOCK_TIMEOUT=1.5)

    assert session_timeouts(app) == ("3s", "1500ms")


# Migrations and the purge -------------------------------------------------------


@pytest.fixture
def big_database(database_uri, tmp_path):
    """A database of its own, for migrating up and down."""
    name = f"{make_url(database_uri).database}_big"
    with own_database(name, tmp_path / "big.sqlite3") as url:
        yield url


def test_a_migration_over_a_big_table_is_not_cut_off(make_app, big_database):
    """Migration 0010 builds an index over 100,000 tasks: far longer than this
    statement timeout, which a migration does not have."""
    patient = make_app(SQLALCHEMY_DATABASE_URI=big_database)
    runner = patient.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0009"]).exit_code == 0
    add_tasks(get_engine(patient), "bulk", 100_000)
    get_engine(patient).dispose()
    impatient = make_app(
        SQLALCHEMY_DATABASE_URI=big_database,
        DATABASE_STATEMENT_TIMEOUT=0.02,
        DATABASE_LOCK_TIMEOUT=0.02,
    )

    result = impatient.test_cli_runner().invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    get_engine(impatient).dispose()


def test_purge_deleted_over_a_big_table_is_not_cut_off(make_app, big_database):
    patient = make_app(SQLALCHEMY_DATABASE_URI=big_database)
    assert patient.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    add_tasks(get_engine(patient), "bulk", 100_000, live=False)
    get_engine(patient).dispose()
    impatient = make_app(
        SQLALCHEMY_DATABASE_URI=big_database,
        DATABASE_STATEMENT_TIMEOUT=0.02,
        DATABASE_LOCK_TIMEOUT=0.02,
    )

    result = impatient.test_cli_runner().invoke(
        args=["purge-deleted", "--older-than", "0"]
    )

    assert result.exit_code == 0, result.output
    assert "Purged 100000 deleted task(s)" in result.output
    get_engine(impatient).dispose()


@pytest.mark.no_pgbouncer(BY_ROLE)
def test_a_lifted_timeout_lets_one_transaction_run_long(make_app):
    app = make_app(DATABASE_STATEMENT_TIMEOUT=0.05, DATABASE_LOCK_TIMEOUT=0.05)
    slow = (
        "SELECT pg_sleep(0.3)"
        if on_postgres
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 3000000) SELECT count(*) FROM n"
    )

    with app.app_context():
        with pytest.raises(OperationalError, match="statement timeout|interrupted"):
            Session.execute(text(slow))
        Session.rollback()
        begin_transaction()
        lift_statement_timeout(Session.connection())
        Session.execute(text(slow))
        Session.rollback()
        Session.remove()


# Configuration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "lock", "message"),
    [
        ("soon", "1", "DATABASE_STATEMENT_TIMEOUT must be a number of seconds"),
        ("5", "-1", "DATABASE_LOCK_TIMEOUT must be a number of seconds"),
        ("2", "3", "DATABASE_LOCK_TIMEOUT=3 must be at most"),
    ],
)
def test_the_timeouts_are_checked_at_start_up(env, statement, lock, message):
    env.setenv("DATABASE_STATEMENT_TIMEOUT", statement)
    env.setenv("DATABASE_LOCK_TIMEOUT", lock)

    with pytest.raises(RuntimeError, match=message):
        config.TestingConfig()


def test_the_timeouts_default_to_5_and_2_seconds(env):
    testing = config.TestingConfig()

    assert (testing.DATABASE_STATEMENT_TIMEOUT, testing.DATABASE_LOCK_TIMEOUT) == (5, 2)


# Behind PgBouncer ----------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.pgbouncer_only
def test_behind_pgbouncer_db_upgrade_makes_the_timeouts_the_roles_defaults(
    database_uri, tmp_path
):
    """PgBouncer refuses libpq's `options`, so `flask db upgrade` sets the role's
    defaults in the database; the server connections PgBouncer opens from then on
    start with them (RECONNECT, as an operator would, retires older ones)."""
    name = f"{make_url(database_uri).database}_bouncer"
    with own_database(name, tmp_path / "unused.sqlite3") as direct_url:
        url = through_the_pooler(direct_url)
        pooled = config_with(
            config.TestingConfig,
            SQLALCHEMY_DATABASE_URI=url,
            JWT_SECRET_KEY=SECRET,
            DATABASE_POOL="pgbouncer",
            DATABASE_STATEMENT_TIMEOUT=0.5,
            DATABASE_LOCK_TIMEOUT=0.25,
        )
        app = create_app(pooled)
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "SET statement_timeout = 500" in result.output
        pooler = make_url(TEST_PGBOUNCER_URL)
        console = psycopg2.connect(
            host=pooler.host, port=pooler.port, user=pooler.username, dbname="pgbouncer"
        )
        console.autocommit = True
        with console.cursor() as cursor:
            cursor.execute(f"RECONNECT {make_url(url).database}")
        console.close()

        alice = User(app.test_client(), new_user_id("alice"))
        task = alice.create(title="Contended")
        settings = session_timeouts(app)
        with row_locked(direct_url, task["id"]):
            response = alice.patch(f"/tasks/{task['id']}", json={"title": "Mine"})
        get_engine(app).dispose()

    assert tuple(settings) == ("500ms", "250ms")
    assert_cancelled(response)
