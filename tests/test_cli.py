"""A developer drives the service from `flask --app wsgi ...`."""

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.engine import make_url

from taskapi.core.columns import utcnow
from taskapi.core.db import Session, get_engine
from taskapi.reminders.models import Reminder
from taskapi.tasks.models import Task
from tests.support.databases import own_database
from tests.support.users import User, bearer, new_user_id

COMMANDS = [
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "current"],
    ["db", "check"],
    ["create-token"],
    ["seed-demo"],
    ["purge-deleted"],
    ["purge-user"],
]


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def empty_database(database_uri, tmp_path):
    """A database of its own, so migrating it up and down disturbs no other test."""
    name = f"{make_url(database_uri).database}_migrations"
    with own_database(name, tmp_path / "migrations.sqlite3") as url:
        yield url


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself(cli, command):
    result = cli(*command, "--help")

    assert result.exit_code == 0
    assert "Usage:" in result.output
    help_text = result.output.split("\n\n", 2)[1].strip()
    assert len(help_text) > 10  # a sentence, not an empty docstring


def test_migrations_go_up_down_and_report_where_they_are(make_app, empty_database):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    runner = app.test_cli_runner()
    engine = get_engine(app)

    assert runner.invoke(args=["db", "current"]).exit_code == 0
    assert "tasks" not in inspect(engine).get_table_names()

    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "tasks" in inspect(engine).get_table_names()
    current = runner.invoke(args=["db", "current"])
    assert current.exit_code == 0
    with engine.connect() as conn:
        head = conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert head in current.output

    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "tasks" not in inspect(engine).get_table_names()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert "tasks" in inspect(engine).get_table_names()


def test_a_bad_revision_fails_with_a_message(cli):
    result = cli("db", "downgrade", "no-such-revision")

    assert result.exit_code != 0
    assert "no-such-revision" in str(result.exception) + result.output


def test_a_created_token_works_against_the_api(cli, client):
    user_id = new_user_id("dev")
    result = cli("create-token", user_id, "--minutes", "5")

    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = client.post(
        "/api/tasks",
        json={"title": "Made with a CLI token"},
        headers=bearer(token),
    )
    assert response.status_code == 201
    assert response.get_json()["user_id"] == user_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-token"], "Missing argument 'USER_ID'"),
        (["create-token", ""], "must be 1-255 characters"),
        (["create-token", "x" * 256], "must be 1-255 characters"),
        (["create-token", "alice", "--minutes", "0"], "0 is not in the range"),
        (["create-token", "alice", "--minutes", "soon"], "'soon' is not a valid"),
        (["seed-demo"], "Missing argument 'USER_ID'"),
        (["seed-demo", "alice", "--count", "0"], "0 is not in the range"),
        (["seed-demo", "alice", "--count", "many"], "'many' is not a valid"),
        (["purge-deleted"], "Missing option '--older-than'"),
        (["purge-deleted", "--older-than", "-1"], "-1 is not in the range"),
        (["purge-deleted", "--older-than", "week"], "'week' is not a valid"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_clear_message(cli, args, message):
    result = cli(*args)

    assert result.exit_code == 2
    assert message in result.output


def test_seed_demo_creates_that_many_valid_tasks_for_the_user(cli, client):
    user = User(client, new_user_id("demo"))
    result = cli("seed-demo", user.id, "--count", "7")

    assert result.exit_code == 0, result.output
    assert f"Created 7 tasks for {user.id}." in result.output
    tasks = user.get("/tasks").get_json()
    assert len(tasks) == 7
    assert all(task["user_id"] == user.id and task["title"] for task in tasks)


def test_seed_demo_creates_nothing_for_other_users(cli, alice):
    cli("seed-demo", new_user_id("someone-else"), "--count", "3")

    assert alice.get("/tasks").get_json() == []


def test_purge_removes_only_tasks_deleted_long_enough_ago(app, cli, alice, bob):
    old = alice.create(title="deleted 40 days ago")
    recent = alice.create(title="deleted 10 days ago")
    just_now = bob.create(title="deleted just now")
    live = alice.create(title="still here")
    for task in (old, recent, just_now):
        assert (alice if task is not just_now else bob).delete(
            f"/tasks/{task['id']}"
        ).status_code == 204
    with app.app_context():
        for task, days in ((old, 40), (recent, 10)):
            Session.execute(
                update(Task)
                .where(Task.id == Task.id.type.python_type(task["id"]))
                .values(deleted_at=utcnow() - timedelta(days=days))
            )
        Session.commit()

    result = cli("purge-deleted", "--older-than", "30")

    assert result.exit_code == 0, result.output
    assert "Purged 1 deleted task(s) older than 30 day(s)." in result.output
    with app.app_context():
        remaining = {str(task_id) for task_id in Session.scalars(select(Task.id))}
    assert old["id"] not in remaining
    assert {recent["id"], just_now["id"], live["id"]} <= remaining
    assert alice.get(f"/tasks/{live['id']}").status_code == 200


def test_purge_takes_a_purged_tasks_reminders_with_it(app, cli, alice):
    kept = alice.create(title="kept", reminders=[{"at": "2026-12-10T08:00:00Z"}])
    gone = alice.create(title="gone", reminders=[{"at": "2026-12-10T08:00:00Z"}])
    assert alice.delete(f"/tasks/{gone['id']}").status_code == 204
    with app.app_context():
        Session.execute(
            update(Task)
            .where(Task.id == Task.id.type.python_type(gone["id"]))
            .values(deleted_at=utcnow() - timedelta(days=40))
        )
        Session.commit()

    assert cli("purge-deleted", "--older-than", "30").exit_code == 0

    with app.app_context():
        left = {str(task_id) for task_id in Session.scalars(select(Reminder.task_id))}
    assert gone["id"] not in left and kept["id"] in left
