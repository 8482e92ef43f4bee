"""GET /reminders in shared lists (CONTRACT "Shared lists"): a task's reminders
go to its assignee, or without one to its creator, and only while that user
sees the task. reminder.due follows the same rule:
tests/webhooks/test_webhook_sharing.py."""

from tests.support.sharing import remove, share, shared_list

AT = "2026-12-10T08:00:00Z"


def reminded(user) -> list[str]:
    response = user.get("/reminders?after=2026-12-10T00:00:00Z")
    assert response.status_code == 200, response.get_json()
    return [r["title"] for r in response.get_json()]


def change(user, task, **fields) -> dict:
    response = user.patch(f"/tasks/{task['id']}", json=fields)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_reminders_go_to_the_assignee_else_the_creator(alice, bob, carol):
    family = shared_list(alice, members=[bob])
    share(alice, family["id"], carol, "viewer")
    everyone = (alice, bob, carol)
    task = bob.create(title="Vet", list_id=family["id"], reminders=[{"at": AT}])
    assert [reminded(user) for user in everyone] == [[], ["Vet"], []]
    change(alice, task, assignee_id=carol.id)  # a viewer may be assigned
    assert [reminded(user) for user in everyone] == [[], [], ["Vet"]]
    # rewritten by someone else, they still go to the assignee
    change(alice, task, reminders=[{"at": "2026-12-10T09:00:00Z"}])
    assert [reminded(user) for user in everyone] == [[], [], ["Vet"]]
    change(alice, task, assignee_id=None)
    assert [reminded(user) for user in everyone] == [[], ["Vet"], []]


def test_the_owners_own_task_assigned_to_nobody_reminds_its_creator(alice, bob):
    family = shared_list(alice, members=[bob])
    alice.create(title="Mine", list_id=family["id"], reminders=[{"at": AT}])
    alice.create(title="Inbox", reminders=[{"at": AT}])
    assert sorted(reminded(alice)) == ["Inbox", "Mine"]
    assert reminded(bob) == []


def test_an_assignee_removed_from_the_list_hands_them_back_to_the_creator(alice, bob):
    family = shared_list(alice, members=[bob])
    alice.create(
        title="Bins",
        list_id=family["id"],
        assignee_id=bob.id,
        reminders=[{"at": AT}],
    )
    assert (reminded(alice), reminded(bob)) == ([], ["Bins"])
    remove(alice, family["id"], bob.id)  # unassigns him from the list's tasks
    assert (reminded(alice), reminded(bob)) == (["Bins"], [])


def test_a_creator_who_no_longer_sees_the_task_is_not_reminded(alice, bob):
    family = shared_list(alice, members=[bob])
    bob.create(title="Left behind", list_id=family["id"], reminders=[{"at": AT}])
    bob.create(title="His own", reminders=[{"at": AT}])
    remove(bob, family["id"], bob.id)
    assert reminded(bob) == ["His own"]
    assert reminded(alice) == []  # the creator's, not the owner's
