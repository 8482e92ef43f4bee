"""A user takes everything out, brings it into an empty account, and takes it
out again: the same document, up to ids and timestamps."""

import json
from pathlib import Path

from jsonschema import Draft202012Validator

import taskapi.portability.service
from tests.support.portability import comparable, export, import_document
from tests.support.sharing import shared_list


def a_full_account(alice, bob):
    """Lists, subtasks, a manual order, a completed series, reminders, tags."""
    groceries = alice.create_list("Groceries")
    work = shared_list(alice, "Work", members=[bob])
    milk = alice.create(title="Milk", list_id=groceries["id"], tags=["Dairy"])
    alice.create(title="Bread", list_id=groceries["id"], priority="high")
    eggs = alice.create(title="Eggs", list_id=groceries["id"])
    moved = alice.post(f"/tasks/{eggs['id']}/move", json={"before": milk["id"]})
    assert moved.status_code == 200
    report = alice.create(
        title="Report",
        list_id=work["id"],
        due_date="2026-12-01T09:00:00Z",
        reminders=[{"before": "PT1H"}],
        description="Quarterly",
    )
    alice.create(title="Figures", parent_id=report["id"])
    alice.create(title="Charts", parent_id=report["id"], completed=True)
    bob.create(title="Bob's idea", list_id=work["id"], assignee_id=alice.id)
    weekly = alice.create(
        title="Water plants",
        due_date="2026-12-02T08:00:00Z",
        recurrence={"rule": "FREQ=WEEKLY", "timezone": "Europe/Berlin"},
    )
    done = alice.patch(f"/tasks/{weekly['id']}/complete", json={"completed": True})
    assert done.status_code == 200
    alice.create(title="Call mum", status="in_progress")
    return groceries, work


def test_export_import_export_gives_the_same_document(alice, bob, users_on):
    a_full_account(alice, bob)
    first = export(alice)
    assert len(first["lists"]) == 2 and len(first["tasks"]) == 10

    newcomer = users_on("newcomer")
    imported = import_document(newcomer, first)
    assert imported == {"lists": 2, "tasks": 10}
    again = export(newcomer)

    assert comparable(again) == comparable(first)
    assert {t["id"] for t in again["tasks"]}.isdisjoint(t["id"] for t in first["tasks"])


def test_the_export_is_an_attachment_and_holds_webhooks_without_secrets(alice):
    alice.create(title="One")
    hook = alice.post(
        "/webhooks",
        json={"url": "https://example.com/hook", "events": ["task.created"]},
    )
    assert hook.status_code == 201, hook.get_json()
    response = alice.get("/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    body = json.loads(response.data)
    assert body["format"] == "taskapi" and body["version"] == 1
    assert body["user_id"] == alice.id
    [webhook] = body["webhooks"]
    assert webhook["url"] == "https://example.com/hook"
    assert "secret" not in webhook


def test_a_members_tasks_are_not_in_their_export_but_the_owners(alice, bob):
    work = shared_list(alice, "Work", members=[bob])
    bob.create(title="In alice's list", list_id=work["id"])
    bob.create(title="In bob's inbox")
    assert [t["title"] for t in export(bob)["tasks"]] == ["In bob's inbox"]
    assert [t["title"] for t in export(alice)["tasks"]] == ["In alice's list"]
    assert export(bob)["lists"] == []


SCHEMA = Path(taskapi.portability.service.__file__).parent / "export.schema.json"


def test_a_real_export_follows_the_shipped_json_schema(alice, bob):
    a_full_account(alice, bob)
    alice.post("/webhooks", json={"url": "https://example.com/hook"})
    schema = json.loads(SCHEMA.read_text())
    validator = Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    document = export(alice)
    assert list(validator.iter_errors(document)) == []
    # and the schema is one that can fail: a task's field out of its rules
    document["tasks"][0]["priority"] = "someday"
    assert not validator.is_valid(document)


def test_an_export_across_many_pages_holds_every_task_once(alice, monkeypatch):
    monkeypatch.setattr(taskapi.portability.service, "PAGE_SIZE", 3)
    titles = [f"Task {n}" for n in range(10)]
    for title in titles:
        alice.create(title=title)
    response = alice.get("/export")
    assert response.is_streamed
    assert [t["title"] for t in json.loads(response.data)["tasks"]] == titles
