"""The migrations own the schema, and the models say what they create.

`flask --app wsgi db check` (Alembic's `check`) fails when autogenerate would find
something to do: a model changed without a migration, or a database that differs.
"""

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from taskapi.core.db import get_engine
from tests.support.databases import own_database
from tests.support.environment import on_postgres

NO_CHANGES = "No new upgrade operations detected."
TRIGGERS = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'task_counts_%'"


@pytest.fixture
def empty_database(database_uri, tmp_path):
    """A database of its own, so migrating it up and down disturbs no other test."""
    name = f"{make_url(database_uri).database}_schema"
    with own_database(name, tmp_path / "migrations.sqlite3") as url:
        yield url


@pytest.fixture
def fresh_app(make_app, empty_database):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    yield app
    get_engine(app).dispose()  # so the database can be dropped


@pytest.fixture
def db(fresh_app):
    runner = fresh_app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=["db", *args])

    return invoke


def execute(app, statement):
    with get_engine(app).begin() as conn:
        conn.execute(text(statement))


def test_a_freshly_migrated_database_is_what_the_models_declare(db):
    assert db("upgrade").exit_code == 0

    result = db("check")

    assert result.exit_code == 0, result.output
    assert NO_CHANGES in result.output


def test_check_fails_when_the_database_and_the_models_differ(fresh_app, db):
    assert db("upgrade").exit_code == 0
    execute(fresh_app, "DROP INDEX ix_tasks_user_updated")

    result = db("check")

    assert result.exit_code == 1
    assert "New upgrade operations detected" in result.output
    assert "ix_tasks_user_updated" in result.output


@pytest.mark.postgres_only
def test_check_sees_the_postgresql_only_indexes_and_the_counter_table(fresh_app, db):
    assert db("upgrade").exit_code == 0
    execute(fresh_app, "DROP INDEX ix_tasks_user_due_desc")
    execute(fresh_app, "DROP INDEX ix_tasks_title_trgm")
    execute(fresh_app, "DROP TABLE task_counts CASCADE")

    result = db("check")

    assert result.exit_code == 1
    for name in ("ix_tasks_user_due_desc", "ix_tasks_title_trgm", "task_counts"):
        assert name in result.output


@pytest.mark.postgres_only
def test_a_database_without_pg_trgm_passes_the_check(fresh_app, db):
    """Migration 0003 leaves the trigram indexes out when the role may not create
    the extension; that database is as the migrations made it."""
    assert db("upgrade").exit_code == 0
    execute(fresh_app, "DROP EXTENSION pg_trgm CASCADE")  # and its indexes

    result = db("check")

    assert result.exit_code == 0, result.output


def test_check_fails_on_a_database_that_is_not_migrated_to_the_end(db):
    assert db("upgrade", "0002").exit_code == 0

    result = db("check")

    assert result.exit_code == 1
    assert "not up to date" in result.output


def test_downgrade_to_base_then_upgrade_again_gives_the_same_schema(fresh_app, db):
    assert db("upgrade").exit_code == 0

    result = db("downgrade", "base")

    assert result.exit_code == 0, result.output
    assert set(inspect(get_engine(fresh_app)).get_table_names()) <= {"alembic_version"}
    result = db("upgrade")
    assert result.exit_code == 0, result.output
    result = db("check")
    assert result.exit_code == 0, result.output
    assert NO_CHANGES in result.output
    if on_postgres:  # the counter's triggers, which Alembic cannot see, came back
        with get_engine(fresh_app).connect() as conn:
            assert conn.scalar(text(TRIGGERS)) == 4


def test_tables_of_others_in_the_same_database_are_left_alone(fresh_app, db):
    assert db("upgrade").exit_code == 0
    # Better Auth's tables, when it shares the API's database
    execute(fresh_app, 'CREATE TABLE "user" (id text PRIMARY KEY)')
    execute(fresh_app, 'CREATE TABLE "session" (id text PRIMARY KEY, "userId" text)')

    result = db("check")

    assert result.exit_code == 0, result.output
    assert NO_CHANGES in result.output


# The database's rules: each trigger the domains define (taskapi/*/triggers.py)
DATABASE_TRIGGERS = {
    "task_counts_insert": "tasks",
    "task_counts_update": "tasks",
    "task_counts_delete": "tasks",
    "task_counts_truncate": "tasks",
    "tasks_change_xid": "tasks",
    "lists_change_xid": "lists",
    "list_members_change_xid": "list_members",
    "task_departures": "tasks",
    "webhook_events_insert": "tasks",
    "webhook_events_update": "tasks",
}


@pytest.mark.postgres_only
def test_the_package_defines_every_trigger_the_migrations_create(fresh_app, db):
    assert db("upgrade").exit_code == 0

    with get_engine(fresh_app).connect() as conn:
        found = conn.scalars(
            text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        ).all()

    assert sorted(found) == sorted(DATABASE_TRIGGERS)


@pytest.mark.postgres_only
@pytest.mark.parametrize("trigger", DATABASE_TRIGGERS)
def test_check_fails_when_a_trigger_is_missing(fresh_app, db, trigger):
    assert db("upgrade").exit_code == 0
    execute(fresh_app, f"DROP TRIGGER {trigger} ON {DATABASE_TRIGGERS[trigger]}")

    result = db("check")

    assert result.exit_code == 1
    assert "New upgrade operations detected" in result.output
    assert f"public.{trigger}" in result.output


@pytest.mark.postgres_only
def test_check_fails_when_a_trigger_function_differs(fresh_app, db):
    assert db("upgrade").exit_code == 0
    execute(
        fresh_app,
        "CREATE OR REPLACE FUNCTION set_change_xid() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN NEW.change_xid := 0; RETURN NEW; END $$",
    )

    result = db("check")

    assert result.exit_code == 1
    assert "public.set_change_xid()" in result.output
