"""A family keeps one list together: editors write its tasks as the owner does,
a viewer only reads them, strangers find nothing; a task belongs to the owner of
its place, and an assignee must see it."""

import pytest

from tests.support.sharing import remove, share, shared_list


@pytest.fixture
def family(users_on):
    """Alice's list "Family", Bob an editor of it, Vera a viewer, Sam a stranger."""
    alice, bob, vera, sam = (users_on(n) for n in ("alice", "bob", "vera", "sam"))
    listing = shared_list(alice, "Family", members=[bob])
    share(alice, listing["id"], vera, "viewer")
    return alice, bob, vera, sam, listing["id"]


def add(user, **body):
    response = user.post("/tasks", json={"title": "Milk", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_editor_writes_the_lists_tasks_as_the_owner_does(family):
    alice, bob, _vera, _sam, list_id = family
    task = add(bob, list_id=list_id)
    assert (task["user_id"], task["created_by"]) == (alice.id, bob.id)
    assert alice.get(f"/tasks/{task['id']}").status_code == 200

    changed = bob.patch(f"/tasks/{task['id']}", json={"title": "Oat milk"})
    assert changed.status_code == 200, changed.get_json()
    assert bob.patch(f"/tasks/{task['id']}/complete").get_json()["completed"] is True
    mine = add(alice, list_id=list_id)
    moved = bob.post(f"/tasks/{mine['id']}/move", json={"after": task["id"]})
    assert moved.status_code == 200, moved.get_json()
    assert bob.delete(f"/tasks/{mine['id']}").status_code == 204
    assert alice.get(f"/tasks/{mine['id']}").status_code == 404

    ids = {t["id"] for t in alice.get(f"/tasks?list_id={list_id}").get_json()}
    assert ids == {task["id"]}
    seen_by_bob = {t["id"] for t in bob.get("/tasks").get_json()}
    assert task["id"] in seen_by_bob


def test_a_viewer_reads_but_every_write_is_403(family):
    alice, _bob, vera, _sam, list_id = family
    task = add(alice, list_id=list_id)
    path = f"/tasks/{task['id']}"
    assert vera.get(path).get_json()["title"] == "Milk"
    assert [t["id"] for t in vera.get(f"/tasks?list_id={list_id}").get_json()] == [
        task["id"]
    ]
    refused = [
        vera.patch(path, json={"title": "x"}),
        vera.put(path, json={"title": "x"}),
        vera.patch(f"{path}/complete"),
        vera.delete(path),
        vera.post(f"{path}/move", json={}),
        vera.post("/tasks", json={"title": "x", "list_id": list_id}),
    ]
    assert [r.status_code for r in refused] == [403] * 6, [
        r.get_json() for r in refused
    ]
    assert "viewer" in refused[0].get_json()["detail"]
    own = add(vera)
    into = vera.post(f"/tasks/{own['id']}/move", json={"list_id": list_id})
    assert into.status_code == 403
    assert alice.get(path).get_json()["title"] == "Milk"


def test_a_stranger_finds_nothing_not_even_through_references(family):
    alice, _bob, _vera, sam, list_id = family
    task = add(alice, list_id=list_id)
    path = f"/tasks/{task['id']}"
    assert [sam.get(path).status_code, sam.patch(path, json={"title": "x"}).status_code,
            sam.delete(path).status_code] == [404, 404, 404]  # fmt: skip
    assert sam.get(path).get_json()["detail"] == "Task not found."
    for body in ({"list_id": list_id}, {"parent_id": task["id"]}):
        answer = sam.post("/tasks", json={"title": "x", **body})
        assert answer.status_code == 422
        assert set(answer.get_json()["errors"]["json"]) == set(body)
    own = add(sam)
    for field in ("after", "before"):
        answer = sam.post(f"/tasks/{own['id']}/move", json={field: task["id"]})
        assert answer.status_code == 422
        assert field in answer.get_json()["errors"]["json"]
    assert sam.get(f"/tasks?list_id={list_id}").status_code == 422
    assert sam.get("/tasks").get_json() == [own]


def test_a_task_belongs_to_the_owner_of_its_place(family):
    alice, bob, _vera, _sam, list_id = family
    task = add(alice, list_id=list_id)
    sub = add(alice, parent_id=task["id"])
    assert sub["user_id"] == alice.id and sub["list_id"] == list_id

    # Bob takes it into his inbox: his own now, gone from the list for Alice
    taken = bob.patch(f"/tasks/{task['id']}", json={"list_id": None})
    assert taken.status_code == 200, taken.get_json()
    assert taken.get_json()["user_id"] == bob.id
    assert alice.get(f"/tasks/{task['id']}").status_code == 404
    assert bob.get(f"/tasks/{sub['id']}").get_json()["user_id"] == bob.id
    # and back into the list: Alice's again, at the end of the list's order
    back = bob.post(f"/tasks/{task['id']}/move", json={"list_id": list_id})
    assert back.get_json()["user_id"] == alice.id
    assert alice.get(f"/tasks/{sub['id']}").get_json()["list_id"] == list_id


def test_deleting_a_shared_list_deletes_its_tasks_for_everyone(family):
    alice, bob, _vera, _sam, list_id = family
    task = add(bob, list_id=list_id)
    assert alice.delete(f"/lists/{list_id}").status_code == 204
    assert bob.get(f"/tasks/{task['id']}").status_code == 404
    assert alice.get(f"/tasks/{task['id']}").status_code == 404


def test_an_assignee_must_see_the_tasks_list(family):
    alice, bob, vera, sam, list_id = family
    task = add(alice, list_id=list_id, assignee_id=bob.id)
    assert task["assignee_id"] == bob.id
    to_vera = alice.patch(f"/tasks/{task['id']}", json={"assignee_id": vera.id})
    assert to_vera.status_code == 200
    stranger = alice.patch(f"/tasks/{task['id']}", json={"assignee_id": sam.id})
    assert stranger.status_code == 422
    assert "assignee_id" in stranger.get_json()["errors"]["json"]
    inbox = alice.post("/tasks", json={"title": "Mine", "assignee_id": bob.id})
    assert inbox.status_code == 422
    assert add(alice, assignee_id=alice.id)["assignee_id"] == alice.id
    # Vera cannot see Alice's inbox: the move is refused, nothing changes
    moved = alice.patch(f"/tasks/{task['id']}", json={"list_id": None})
    assert moved.status_code == 422
    assert alice.get(f"/tasks/{task['id']}").get_json()["list_id"] == list_id
    for bad in ("", "x" * 256, 7):
        answer = alice.patch(f"/tasks/{task['id']}", json={"assignee_id": bad})
        assert answer.status_code == 422


def test_the_listing_filters_by_assignee(family):
    alice, bob, _vera, _sam, list_id = family
    for_bob = add(alice, list_id=list_id, assignee_id=bob.id)
    for_alice = add(alice, list_id=list_id, assignee_id=alice.id)
    nobody = add(alice, list_id=list_id)

    def ids(user, value):
        answer = user.get(f"/tasks?assignee_id={value}")
        assert answer.status_code == 200, answer.get_json()
        return {t["id"] for t in answer.get_json()}

    assert ids(bob, "me") == {for_bob["id"]}
    assert ids(bob, alice.id) == {for_alice["id"]}
    assert ids(bob, "none") == {nobody["id"]}
    assert alice.get("/tasks?assignee_id=").status_code == 422


def test_a_members_leaving_unassigns_them(family):
    alice, bob, _vera, _sam, list_id = family
    task = add(alice, list_id=list_id, assignee_id=bob.id)
    remove(bob, list_id, bob.id)
    assert alice.get(f"/tasks/{task['id']}").get_json()["assignee_id"] is None
    assert bob.get(f"/tasks/{task['id']}").status_code == 404


def test_a_recurring_task_completed_by_an_editor_recurs_in_the_list(family):
    alice, bob, _vera, _sam, list_id = family
    task = add(
        alice, list_id=list_id, due_date="2030-01-01T09:00:00Z",
        recurrence={"rule": "FREQ=DAILY"}, assignee_id=bob.id,
    )  # fmt: skip
    done = bob.patch(f"/tasks/{task['id']}/complete").get_json()
    following = alice.get(f"/tasks/{done['next_task_id']}").get_json()
    assert following["user_id"] == alice.id
    assert following["list_id"] == list_id
    assert (following["created_by"], following["assignee_id"]) == (alice.id, bob.id)


def test_a_viewers_batch_fails_at_its_first_write(family):
    alice, bob, vera, _sam, list_id = family
    task = add(alice, list_id=list_id)
    operations = [
        {"op": "create", "body": {"title": "mine"}},
        {"op": "update", "id": task["id"], "body": {"title": "x"}},
    ]
    answer = vera.post("/tasks/batch", json={"operations": operations})
    assert answer.status_code == 403
    assert answer.get_json()["operation"] == 1
    assert vera.get("/tasks?list_id=none").get_json() == []
    ok = bob.post("/tasks/batch", json={"operations": operations})
    assert ok.status_code == 200, ok.get_json()
