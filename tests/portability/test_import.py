"""Bringing tasks in: an export document of another account, all or nothing,
and every kind of bad input refused with nothing created."""

import json
import uuid

import pytest
from sqlalchemy import select

from taskapi.core.db import Session, get_engine
from taskapi.core.errors import MAX_LIVE_TASKS
from taskapi.webhooks.models import WebhookEvent
from tests.support.bulk import add_tasks, remove_tasks
from tests.support.environment import on_postgres
from tests.support.portability import export, import_document
from tests.support.responses import assert_error
from tests.support.tokens import create_access_token, with_access_token
from tests.support.users import User


def document(*tasks, lists=()):
    return {
        "format": "taskapi",
        "version": 1,
        "lists": list(lists),
        "tasks": list(tasks),
    }


def nothing_created(user):
    listed = export(user)
    return listed["lists"] == [] and listed["tasks"] == []


def test_references_are_mapped_to_new_ids(users_on):
    carol = users_on("carol")
    imported = import_document(
        carol,
        document(
            {"id": "p", "title": "Trip", "list_id": "l"},
            {"id": "c", "title": "Pack", "parent_id": "p"},
            lists=[{"id": "l", "name": "Holidays"}],
        ),
    )
    assert imported == {"lists": 1, "tasks": 2}
    [holidays] = carol.get("/lists").get_json()
    tasks = {t["title"]: t for t in carol.get("/tasks").get_json()}
    assert tasks["Trip"]["list_id"] == holidays["id"]
    assert tasks["Pack"]["parent_id"] == tasks["Trip"]["id"]
    assert tasks["Pack"]["list_id"] == holidays["id"]


def test_imported_inbox_tasks_come_after_what_the_inbox_holds(alice):
    alice.create(title="Already here")
    import_document(
        alice, document({"id": "1", "title": "B"}, {"id": "2", "title": "C"})
    )
    order = alice.get("/tasks?sort=position").get_json()
    assert [t["title"] for t in order] == ["Already here", "B", "C"]


def test_a_list_name_the_user_has_gets_a_number(alice):
    alice.create_list("Home")
    import_document(alice, document(lists=[{"id": "h", "name": "home"}]))
    assert sorted(li["name"] for li in alice.get("/lists").get_json()) == [
        "Home",
        "home (2)",
    ]


def test_the_same_idempotency_key_imports_once(alice):
    body = document({"id": "1", "title": "Once"})
    first = import_document(alice, body, **{"Idempotency-Key": "import-1"})
    again = import_document(alice, body, **{"Idempotency-Key": "import-1"})
    assert first == again == {"lists": 0, "tasks": 1}
    assert len(export(alice)["tasks"]) == 1
    other = alice.post(
        "/import", json=document({"id": "1", "title": "Other"}),
        headers={"Idempotency-Key": "import-1"},
    )  # fmt: skip
    assert_error(other, 409)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"format": "todoist", "version": 1, "tasks": []},
            {"format": ["Must be equal to taskapi."]},
        ),
        (
            {"format": "taskapi", "version": 2, "tasks": []},
            {"version": ["Must be equal to 1."]},
        ),
        (
            document({"id": "a", "title": "A"}, {"id": "b", "title": "B",
                                                   "parent_id": "x"}),
            {"tasks": {"1": {"parent_id": ["No task of the document has this id."]}}},
        ),
        (
            document({"id": "a", "title": "A", "list_id": "nowhere"}),
            {"tasks": {"0": {"list_id": ["No list of the document has this id."]}}},
        ),
        (
            document(*({"id": str(i), "title": "ok"} for i in range(3)),
                     {"id": "3", "title": ""}),
            {"tasks": {"3": {"title": ["Length must be between 1 and 200."]}}},
        ),
        (
            document({"id": "a", "title": "A", "recurrence": {"rule": "FREQ=WEEKLY"}}),
            {"tasks": {"0": {"recurrence": ["A recurring task needs a due_date."]}}},
        ),
    ],
    ids=["format", "version", "dangling-parent", "dangling-list", "bad-field",
         "recurrence-rule"],
)  # fmt: skip
def test_bad_documents_are_422_and_change_nothing(users_on, body, errors):
    dave = users_on("dave")
    refused = assert_error(dave.post("/import", json=body), 422)
    assert refused["errors"] == {"json": errors}
    assert nothing_created(dave)


def test_over_ten_thousand_tasks_is_422(alice):
    body = document(*({"id": str(i), "title": "t"} for i in range(10_001)))
    refused = assert_error(alice.post("/import", json=body), 422)
    assert refused["errors"]["json"]["tasks"] == ["At most 10,000 tasks in one import."]
    assert nothing_created(alice)


def test_a_body_over_one_mib_is_taken_up_to_ten(alice):
    two_mib = document(
        *({"id": str(i), "title": "t", "description": "x" * 2000} for i in range(1100))
    )
    assert len(json.dumps(two_mib)) > 2 * 1024 * 1024
    assert import_document(alice, two_mib) == {"lists": 0, "tasks": 1100}


def test_a_body_over_ten_mib_is_413_and_creates_nothing(alice):
    tasks = (
        {"id": str(i), "title": "t", "description": "x" * 2000} for i in range(5300)
    )
    huge = document(*tasks)
    assert len(json.dumps(huge)) > 10 * 1024 * 1024
    assert_error(alice.post("/import", json=huge), 413)
    assert nothing_created(alice)
    # every other route keeps the 1 MiB limit
    assert_error(alice.post("/tasks", json={"title": "x" * (1024 * 1024)}), 413)


def test_the_tasks_of_a_failing_import_are_not_created(alice):
    body = document({"id": "a", "title": "Fine"}, {"id": "b", "title": "x" * 201})
    assert_error(alice.post("/import", json=body), 422)
    assert nothing_created(alice)


def test_not_json_not_a_calendar_is_415(alice):
    response = alice.post("/import", data=b"title,done", content_type="text/csv")
    assert_error(response, 415)


def test_import_takes_the_write_scope_and_export_the_read_scope(alice):
    reader = with_access_token(
        alice, create_access_token(alice, ["tasks:read"])["token"]
    )
    assert reader.get("/export").status_code == 200
    assert_error(reader.post("/import", json=document()), 403)
    writer = with_access_token(
        alice, create_access_token(alice, ["tasks:write"])["token"]
    )
    assert writer.post("/import", json=document()).status_code == 200


def test_an_import_past_the_users_100000_live_tasks_is_409_and_creates_nothing(
    app, alice
):
    engine = get_engine(app)
    add_tasks(engine, alice.id, MAX_LIVE_TASKS - 1)
    try:
        body = document({"id": "a", "title": "Fits"}, {"id": "b", "title": "Does not"})
        refused = assert_error(alice.post("/import", json=body), 409)
        assert "100,000" in refused["detail"]
        listed = alice.get("/tasks?per_page=1")
        assert listed.headers["X-Total-Count"] == str(MAX_LIVE_TASKS - 1)
    finally:
        remove_tasks(engine, alice.id)


def test_imported_tasks_are_counted_synced_and_announced_as_creates(app, alice):
    alice.create(title="Before")
    cursor = alice.get("/changes").get_json()["cursor"]
    hook = alice.post(
        "/webhooks", json={"url": "https://example.com/h", "events": ["task.created"]}
    )
    assert hook.status_code == 201
    import_document(
        alice,
        document(
            {"id": "a", "title": "In a list", "list_id": "l"},
            {"id": "b", "title": "In the inbox"},
            lists=[{"id": "l", "name": "Imported"}],
        ),
    )
    assert alice.get("/tasks?per_page=1").headers["X-Total-Count"] == "3"
    [imported_list] = [li for li in alice.get("/lists").get_json()]
    in_list = alice.get(f"/tasks?list_id={imported_list['id']}&per_page=1")
    assert in_list.headers["X-Total-Count"] == "1"
    feed = alice.get(f"/changes?cursor={cursor}").get_json()
    assert sorted(t["title"] for t in feed["tasks"]) == ["In a list", "In the inbox"]
    assert [li["name"] for li in feed["lists"]] == ["Imported"]
    with app.app_context():  # the outbox: one task.created per imported task
        queued = Session.scalars(
            select(WebhookEvent.type).where(
                WebhookEvent.webhook_id == uuid.UUID(hook.get_json()["id"])
            )
        ).all()
        Session.rollback()
    # the outbox's trigger is PostgreSQL's (SQLite: no webhook deliveries)
    assert queued == (["task.created", "task.created"] if on_postgres else [])


def test_imports_have_a_budget_of_their_own(make_app, alice):
    """An import can hold a worker thread for seconds: past IMPORT_RATE_LIMIT a
    user's next one is a 429 that imports nothing, while their other requests
    go on (and report the user's own budget)."""
    client = make_app(IMPORT_RATE_LIMIT="2/hour").test_client()
    user = User(client, alice.id)
    for title in ("first", "second"):
        answer = user.post("/import", json=document({"id": "1", "title": title}))
        assert answer.status_code == 200, answer.get_json()
        assert answer.headers["X-RateLimit-Limit"] == "1000"
    refused = user.post("/import", json=document({"id": "1", "title": "third"}))
    assert "imports" in assert_error(refused, 429)["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert [t["title"] for t in export(user)["tasks"]] == ["first", "second"]
    assert user.create(title="still writing")["title"] == "still writing"
