"""A user breaks a task into steps: subtasks, one level deep, always in their
parent's list, deleted with it, and left alone when it is completed."""

import pytest

from tests.support.responses import assert_error

NEVER_USED = "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"


def test_subtasks_take_their_parents_list_and_are_listed_under_it(users_on):
    alice = users_on("alice")
    trip = alice.create_list("Trip")
    parent = alice.create(title="Pack", list_id=trip["id"])

    socks = alice.create(title="Socks", parent_id=parent["id"])
    shoes = alice.create(title="Shoes", parent_id=parent["id"], list_id=trip["id"])

    assert (socks["parent_id"], socks["list_id"]) == (parent["id"], trip["id"])
    assert shoes["list_id"] == trip["id"]
    under = alice.get(f"/tasks?parent_id={parent['id']}&sort=position").get_json()
    assert [task["title"] for task in under] == ["Socks", "Shoes"]
    top = alice.get(f"/tasks?list_id={trip['id']}&parent_id=none").get_json()
    assert [task["title"] for task in top] == ["Pack"]


def test_a_subtask_in_another_list_than_its_parents_is_refused(users_on):
    alice = users_on("alice")
    trip, work = alice.create_list("Trip"), alice.create_list("Work")
    parent = alice.create(title="Pack", list_id=trip["id"])
    child = alice.create(title="Socks", parent_id=parent["id"])

    for response in (
        alice.post(
            "/tasks", json={"title": "x", "parent_id": parent["id"], "list_id": None}
        ),
        alice.post(
            "/tasks",
            json={"title": "x", "parent_id": parent["id"], "list_id": work["id"]},
        ),
        alice.patch(f"/tasks/{child['id']}", json={"list_id": work["id"]}),
        alice.patch(f"/tasks/{child['id']}", json={"list_id": None}),
    ):
        assert "list_id" in assert_error(response, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{child['id']}").get_json() == child
    assert len(alice.get("/tasks").get_json()) == 2


def test_one_level_only(users_on):
    alice = users_on("alice")
    parent = alice.create(title="Parent")
    child = alice.create(title="Child", parent_id=parent["id"])
    other = alice.create(title="Other")

    cases = [
        # a subtask cannot have subtasks
        alice.post("/tasks", json={"title": "x", "parent_id": child["id"]}),
        alice.patch(f"/tasks/{other['id']}", json={"parent_id": child["id"]}),
        # a task with subtasks cannot become one
        alice.patch(f"/tasks/{parent['id']}", json={"parent_id": other["id"]}),
        # nor its own parent, nor its child's child (a cycle)
        alice.patch(f"/tasks/{other['id']}", json={"parent_id": other["id"]}),
        alice.patch(f"/tasks/{parent['id']}", json={"parent_id": child["id"]}),
        alice.post(f"/tasks/{parent['id']}/move", json={"parent_id": other["id"]}),
    ]

    for response in cases:
        assert "parent_id" in assert_error(response, 422)["errors"]["json"]
    assert sorted(alice.get("/tasks").get_json(), key=lambda t: t["title"]) == [
        child,
        other,
        parent,
    ]


def test_a_parent_not_the_users_live_task_is_422_on_parent_id_alike(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    theirs = alice.create(title="Alice's")
    gone = bob.create(title="Gone")
    bob.delete(f"/tasks/{gone['id']}")
    task = bob.create(title="Bob's")

    errors = []
    for parent_id in (theirs["id"], gone["id"], NEVER_USED):
        for response in (
            bob.post("/tasks", json={"title": "x", "parent_id": parent_id}),
            bob.put(f"/tasks/{task['id']}", json={"parent_id": parent_id}),
            bob.post(f"/tasks/{task['id']}/move", json={"parent_id": parent_id}),
            bob.get(f"/tasks?parent_id={parent_id}"),
        ):
            body = assert_error(response, 422)
            location = "query" if response.request.method == "GET" else "json"
            errors.append(body["errors"][location]["parent_id"])
    assert len({str(error) for error in errors}) == 1
    assert bob.get("/tasks").get_json() == [task]


def test_moving_a_parent_to_another_list_moves_its_subtasks(users_on):
    alice = users_on("alice")
    home, work = alice.create_list("Home"), alice.create_list("Work")
    parent = alice.create(title="Report", list_id=home["id"])
    steps = [alice.create(title=f"Step {n}", parent_id=parent["id"]) for n in range(3)]

    moved = alice.patch(f"/tasks/{parent['id']}", json={"list_id": work["id"]})

    assert moved.get_json()["list_id"] == work["id"]
    in_work = alice.get(f"/tasks?list_id={work['id']}&sort=position").get_json()
    assert {task["title"] for task in in_work} == {
        "Report",
        "Step 0",
        "Step 1",
        "Step 2",
    }
    for step in steps:  # a change to each: a new updated_at and ETag
        now = alice.get(f"/tasks/{step['id']}").get_json()
        assert now["list_id"] == work["id"] and now["updated_at"] > step["updated_at"]
        assert now["position"] == step["position"]  # still in the same order
    back = alice.post(f"/tasks/{parent['id']}/move", json={"list_id": None})
    assert back.status_code == 200
    assert alice.get("/tasks?list_id=none").headers["X-Total-Count"] == "4"


def test_a_subtask_can_be_promoted_and_a_task_demoted(alice):
    parent = alice.create(title="Parent")
    child = alice.create(title="Child", parent_id=parent["id"])
    loose = alice.create(title="Loose")

    promoted = alice.patch(f"/tasks/{child['id']}", json={"parent_id": None})
    demoted = alice.patch(f"/tasks/{loose['id']}", json={"parent_id": parent["id"]})

    assert promoted.get_json()["parent_id"] is None
    assert demoted.get_json()["parent_id"] == parent["id"]
    top = alice.get("/tasks?parent_id=none&sort=position").get_json()
    assert [task["title"] for task in top] == ["Parent", "Child"]  # promoted: last


def test_deleting_a_parent_deletes_its_subtasks_and_only_them(users_on):
    alice = users_on("alice")
    parent = alice.create(title="Parent")
    steps = [alice.create(title=f"Step {n}", parent_id=parent["id"]) for n in range(2)]
    other = alice.create(title="Other")
    tag = alice.get(f"/tasks/{other['id']}").headers["ETag"]

    assert alice.delete(f"/tasks/{parent['id']}").status_code == 204

    for step in steps:
        assert_error(alice.get(f"/tasks/{step['id']}"), 404)
    assert alice.get("/tasks").get_json() == [other]
    assert alice.get(f"/tasks/{other['id']}").headers["ETag"] == tag


def test_deleting_a_parent_with_if_match_deletes_its_subtasks_too(alice):
    parent = alice.create(title="Parent")
    step = alice.create(title="Step", parent_id=parent["id"])
    tag = alice.get(f"/tasks/{parent['id']}").headers["ETag"]

    response = alice.delete(f"/tasks/{parent['id']}", headers={"If-Match": tag})

    assert response.status_code == 204
    assert_error(alice.get(f"/tasks/{step['id']}"), 404)


@pytest.mark.parametrize("how", ["toggle", "set", "status"])
def test_completing_a_parent_leaves_its_subtasks_alone(alice, how):
    parent = alice.create(title="Parent")
    step = alice.create(title="Step", parent_id=parent["id"])
    url = f"/tasks/{parent['id']}"

    if how == "toggle":
        response = alice.patch(f"{url}/complete")
    elif how == "set":
        response = alice.patch(f"{url}/complete", json={"completed": True})
    else:
        response = alice.patch(url, json={"status": "completed"})

    assert response.get_json()["status"] == "completed"
    assert alice.get(f"/tasks/{step['id']}").get_json() == step


@pytest.mark.parametrize("value", ["nope", "12", "None"])
def test_a_listing_parent_id_that_is_neither_an_id_nor_none_is_422(alice, value):
    response = alice.get(f"/tasks?parent_id={value}")

    assert "parent_id" in assert_error(response, 422)["errors"]["query"]
