"""What the listing needs from the database: a total that stays right however
tasks change, and a migration (0003) that a non-superuser owner can run."""

import uuid
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import make_url

from taskapi.cli import MIGRATIONS
from taskapi.config import database_url
from taskapi.core.db import Session
from taskapi.tasks.models import Task
from tests.support.environment import TEST_DATABASE_URL


def total(user) -> int:
    return int(user.get("/tasks").headers["X-Total-Count"])


def test_the_total_follows_creates_deletes_and_changes_made_in_sql(app, alice, bob):
    created = [alice.create(title=f"t{n}")["id"] for n in range(4)]
    bob.create()
    assert total(alice) == 4

    alice.delete(f"/tasks/{created[0]}")
    alice.delete(f"/tasks/{created[3]}")
    alice.patch(f"/tasks/{created[1]}/complete")
    alice.patch(f"/tasks/{created[2]}", json={"title": "renamed"})
    assert total(alice) == 2

    with app.app_context():
        # what purge-deleted does to a soft-deleted row: no change in the count
        Session.execute(delete(Task).where(Task.id == uuid.UUID(created[0])))
        Session.commit()
    assert total(alice) == 2

    with app.app_context():
        # a row removed for good, one handed to bob, one restored from deletion
        Session.execute(delete(Task).where(Task.id == uuid.UUID(created[1])))
        Session.execute(
            update(Task).where(Task.id == uuid.UUID(created[2])).values(user_id=bob.id)
        )
        Session.execute(
            update(Task).where(Task.id == uuid.UUID(created[3])).values(deleted_at=None)
        )
        Session.commit()

    assert total(alice) == 1
    assert total(bob) == 2
    assert created[2] in [t["id"] for t in bob.get("/tasks").get_json()]


# Migration 0003 on PostgreSQL -------------------------------------------------------


@pytest.fixture
def server():
    url = make_url(database_url(TEST_DATABASE_URL))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    made = []

    def make(owner_may_create: bool):
        """A new database, and a role (not a superuser) that migrates it: its
        owner, or a role that may only create tables in its public schema."""
        suffix = uuid.uuid4().hex[:10]
        role, name = f"taskapi_role_{suffix}", f"taskapi_migrate_{suffix}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER"))
            owner = role if owner_may_create else "postgres"
            conn.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
        made.append((role, name))
        if not owner_may_create:
            db = create_engine(url.set(database=name), isolation_level="AUTOCOMMIT")
            with db.connect() as conn:
                conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))
            db.dispose()
        return create_engine(url.set(username=role, database=name))

    yield make
    with admin.connect() as conn:
        for role, name in made:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def migrate(engine, action, revision):
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    action(config, revision)


def indexes(engine) -> set:
    with engine.connect() as conn:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'"
        return set(conn.execute(text(query)).scalars())


def insert_task(conn, user_id, deleted=False, position=None):
    """A task as SQL writes it; `position` for a database past migration 0006."""
    now = datetime.now(timezone.utc)
    columns = ", position" if position else ""
    conn.execute(
        text(
            "INSERT INTO tasks (id, user_id, title, completed, priority, tags,"
            f" created_at, updated_at, deleted_at, version{columns})"
            " VALUES (:id, :user_id, 't', false, 1, '[]', :now, :now, :deleted, 1"
            f"{', :position' if position else ''})"
        ),
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "now": now,
            "deleted": now if deleted else None,
            "position": position,
        },
    )


def counts(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT user_id, live FROM task_counts")).all())


@pytest.mark.postgres_only
def test_an_owner_who_is_not_a_superuser_migrates_up_and_down(server):
    engine = server(owner_may_create=True)
    migrate(engine, command.upgrade, "0001")
    with engine.begin() as conn:  # tasks from before 0003 are counted
        insert_task(conn, "u1")
        insert_task(conn, "u1")
        insert_task(conn, "u1", deleted=True)
        insert_task(conn, "u2", deleted=True)

    migrate(engine, command.upgrade, "head")

    assert {
        "ix_tasks_user_due_desc",
        "ix_tasks_tags",
        "ix_tasks_title_trgm",
        "ix_tasks_description_trgm",
    } <= indexes(engine)
    assert counts(engine) == {"u1": 2}
    with engine.begin() as conn:
        insert_task(conn, "u2", position="a0")
    assert counts(engine) == {"u1": 2, "u2": 1}

    migrate(engine, command.downgrade, "0001")
    assert indexes(engine) == {"tasks_pkey", "ix_tasks_user_created"}
    migrate(engine, command.upgrade, "head")
    assert counts(engine) == {"u1": 2, "u2": 1}
    engine.dispose()


@pytest.mark.postgres_only
def test_without_leave_to_create_pg_trgm_the_migration_skips_only_its_indexes(
    server, caplog
):
    engine = server(owner_may_create=False)

    migrate(engine, command.upgrade, "head")

    made = indexes(engine)
    assert {"ix_tasks_user_due", "ix_tasks_tags", "ix_tasks_user_title"} <= made
    assert not {"ix_tasks_title_trgm", "ix_tasks_description_trgm"} & made
    assert "pg_trgm not available" in caplog.text
    with engine.connect() as conn:  # search works, by scanning
        found = conn.execute(text("SELECT count(*) FROM tasks WHERE title ILIKE '%x%'"))
        assert found.scalar() == 0
    migrate(engine, command.downgrade, "0001")
    engine.dispose()
