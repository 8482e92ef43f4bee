"""A user erases their account: everything they own goes for good, what others
share with them stays with the others without their id, and the members of
their lists see those lists deleted."""

import pytest
from sqlalchemy import JSON, String, Text, cast, func, inspect, select

from taskapi.core.db import Base, Session, get_engine
from tests.support.calendars import create_feed
from tests.support.environment import on_postgres
from tests.support.responses import assert_error
from tests.support.sharing import invite, shared_list
from tests.support.tokens import create_access_token, with_access_token

CONFIRM = {"Confirm": "delete my data"}
JSON_TYPES = (JSON,)  # TagList, JSONObject: JSON with a PostgreSQL variant


def rows_naming(app, user_id: str) -> dict:
    """Every row of every table of the models that holds `user_id` in a text
    column (as its value) or a JSON one (anywhere in it), by table.column: the
    tables found by the metadata, so a table added later is walked too."""
    found = {}
    with app.app_context():
        present = set(inspect(get_engine(app)).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue  # the other database's only
            for column in table.columns:
                if isinstance(column.type, JSON_TYPES):
                    naming = cast(column, Text).contains(user_id, autoescape=True)
                elif isinstance(column.type, (String, Text)):
                    naming = column == user_id
                else:
                    continue
                count = Session.scalar(select(func.count()).where(naming))
                if count:
                    found[f"{table.name}.{column.name}"] = count
        Session.rollback()
    return found


def a_full_account(alice, bob, carol):
    """Alice: an inbox, a list shared with bob, a private list, a membership of
    carol's list where she created, changed and was assigned tasks, tokens, a
    calendar feed, a webhook, reminders, an invitation, an idempotency key."""
    mine = alice.create_list("Private")
    alice.create(title="In the inbox", due_date="2026-12-01T09:00:00Z",
                 reminders=[{"before": "PT1H"}])  # fmt: skip
    alice.create(title="Private", list_id=mine["id"], tags=["x"])
    family = shared_list(alice, "Family", members=[bob])
    parent = alice.create(title="Holiday", list_id=family["id"])
    bob.create(title="Bob's part", parent_id=parent["id"])
    invite(alice, family["id"])
    theirs = shared_list(carol, "Carol's", members=[alice])
    # carol's webhook queues events of what alice does in her list (the actor)
    assert (
        carol.post("/webhooks", json={"url": "https://example.com/c"}).status_code
        == 201
    )
    hers = alice.create(
        title="Alice made it",
        list_id=theirs["id"],
        due_date="2026-12-01T09:00:00Z",
        reminders=[{"before": "PT1H"}],
    )
    carols = carol.create(title="Carol's", list_id=theirs["id"], assignee_id=alice.id)
    assert (
        alice.patch(f"/tasks/{carols['id']}", json={"priority": "high"}).status_code
        == 200
    )
    create_access_token(alice, ["tasks:read"])
    create_feed(alice)
    hook = alice.post("/webhooks", json={"url": "https://example.com/hook"})
    assert hook.status_code == 201
    keyed = alice.post(
        "/tasks", json={"title": "Once"}, headers={"Idempotency-Key": "k1"}
    )
    assert keyed.status_code == 201
    return family, theirs, hers, carols


def test_erasing_leaves_no_row_naming_the_user(app, alice, bob, users_on):
    carol = users_on("carol")
    a_full_account(alice, bob, carol)
    found = rows_naming(app, alice.id)  # the walk finds what there is
    assert "tasks.created_by" in found
    if on_postgres:  # the outbox's trigger is PostgreSQL's
        assert {"webhook_events.actor", "webhook_events.task"} <= set(found)

    assert alice.delete("/account", headers=CONFIRM).status_code == 204
    assert rows_naming(app, alice.id) == {}


def test_members_lose_the_users_lists_and_owners_keep_their_tasks(
    app, alice, bob, users_on
):
    carol = users_on("carol")
    family, theirs, hers, carols = a_full_account(alice, bob, carol)
    first = bob.get("/changes").get_json()

    assert alice.delete("/account", headers=CONFIRM).status_code == 204

    assert [li["id"] for li in bob.get("/lists").get_json()] == []
    assert [t["title"] for t in bob.get("/tasks").get_json()] == []
    feed = bob.get(f"/changes?cursor={first['cursor']}").get_json()
    assert family["id"] in feed["deleted_lists"]
    assert len(feed["deleted_tasks"]) == 2  # the holiday and bob's part of it

    kept = {t["title"]: t for t in carol.get("/tasks").get_json()}
    assert set(kept) == {"Alice made it", "Carol's"}
    assert kept["Alice made it"]["created_by"] is None
    assert kept["Carol's"]["assignee_id"] is None
    [list_] = carol.get("/lists").get_json()
    assert list_["member_count"] == 1
    # the reminder of the task alice made there now reminds its list's owner
    window = "after=2026-12-01T07:00:00Z&before=2026-12-01T09:00:00Z"
    due = carol.get(f"/reminders?{window}").get_json()
    assert [r["title"] for r in due] == ["Alice made it"]


def test_without_the_confirm_header_nothing_is_erased(alice):
    alice.create(title="Still here")
    refused = assert_error(alice.delete("/account"), 428)
    assert "Confirm: delete my data" in refused["detail"]
    assert_error(alice.delete("/account", headers={"Confirm": "yes"}), 428)
    assert [t["title"] for t in alice.get("/tasks").get_json()] == ["Still here"]


def test_an_access_token_cannot_erase_the_account(alice):
    alice.create(title="Still here")
    created = create_access_token(alice, ["tasks:read", "tasks:write", "webhooks"])
    script = with_access_token(alice, created["token"])
    assert_error(script.delete("/account", headers=CONFIRM), 403)
    assert len(alice.get("/tasks").get_json()) == 1


def test_erasing_is_the_same_from_the_command_line(app, alice, bob, users_on):
    carol = users_on("carol")
    a_full_account(alice, bob, carol)
    result = app.test_cli_runner().invoke(args=["purge-user", alice.id])
    assert result.exit_code == 0, result.output
    assert rows_naming(app, alice.id) == {}
    assert bob.get("/lists").get_json() == []


@pytest.mark.parametrize("user_id", ["", "x" * 256])
def test_purge_user_refuses_what_is_no_user_id(app, user_id):
    result = app.test_cli_runner().invoke(args=["purge-user", user_id])
    assert result.exit_code == 2
