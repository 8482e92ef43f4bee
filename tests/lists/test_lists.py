"""A user groups tasks into lists: create, rename, read and delete lists, put
tasks in them; another user's list is exactly "not found", wherever it is named."""

import re
import uuid

import pytest

from taskapi.lists.service import MAX_LISTS
from tests.support.responses import assert_error

STRONG_TAG = re.compile(r'"[\x21\x23-\x7e]+"')
NEVER_USED = "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"


def test_a_new_list_has_an_id_a_location_and_an_etag(users_on):
    alice = users_on("alice")

    response = alice.post("/lists", json={"name": "  Groceries  "})

    assert response.status_code == 201
    made = response.get_json()
    assert set(made) == {
        "id",
        "name",
        "created_at",
        "updated_at",
        "owner_id",
        "role",
        "member_count",
    }
    assert uuid.UUID(made["id"]) and made["name"] == "Groceries"
    assert (made["owner_id"], made["role"], made["member_count"]) == (
        alice.id,
        "owner",
        1,
    )
    assert made["created_at"] == made["updated_at"]
    assert response.headers["Location"] == f"{alice.prefix}/lists/{made['id']}"
    assert STRONG_TAG.fullmatch(response.headers["ETag"])
    got = alice.get(f"/lists/{made['id']}")
    assert got.get_json() == made
    assert got.headers["ETag"] == response.headers["ETag"]


def test_lists_come_in_creation_order_unpaginated(users_on):
    alice = users_on("alice")
    names = [f"List {n}" for n in range(60)]
    for name in names:
        alice.create_list(name)

    response = alice.get("/lists")

    assert response.status_code == 200
    assert [made["name"] for made in response.get_json()] == names


def test_renaming_a_list_changes_it_and_its_etag_once(users_on):
    alice = users_on("alice")
    made = alice.create_list("Work")
    url = f"/lists/{made['id']}"
    tag = alice.get(url).headers["ETag"]

    same = alice.put(url, json={"name": " Work "})
    assert same.get_json() == made and same.headers["ETag"] == tag
    for method, name in (("put", "Office"), ("patch", "office")):
        response = getattr(alice, method)(url, json={"name": name})
        assert response.status_code == 200
        assert response.get_json()["name"] == name
        assert response.headers["ETag"] != tag
        tag = response.headers["ETag"]
    assert alice.get(url).get_json()["updated_at"] > made["updated_at"]
    assert alice.patch(url, json={}).headers["ETag"] == tag


def test_if_none_match_and_if_match_work_on_lists_as_on_tasks(alice):
    made = alice.create_list()
    url = f"/lists/{made['id']}"
    tag = alice.get(url).headers["ETag"]

    assert alice.get(url, headers={"If-None-Match": tag}).status_code == 304
    renamed = alice.put(url, json={"name": "Shop"}, headers={"If-Match": tag})
    assert renamed.status_code == 200
    stale = alice.put(url, json={"name": "Stale"}, headers={"If-Match": tag})
    assert_error(stale, 412)
    assert_error(alice.delete(url, headers={"If-Match": tag}), 412)
    assert alice.get(url).get_json()["name"] == "Shop"
    current = renamed.headers["ETag"]
    assert alice.delete(url, headers={"If-Match": current}).status_code == 204


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "colour": "red"}, "colour"),
        ({"name": "ok", "id": NEVER_USED}, "id"),
        ({"name": "ok", "created_at": "2026-01-01"}, "created_at"),
        ({"name": "ok", "owner_id": "mallory"}, "owner_id"),
        ({"name": "ok", "role": "owner"}, "role"),
        ({"name": "ok", "member_count": 2}, "member_count"),
    ],
)
def test_bad_list_bodies_are_422_and_change_nothing(alice, body, field):
    made = alice.create_list("Kept")

    created = alice.post("/lists", json=body)
    updated = alice.patch(f"/lists/{made['id']}", json=body) if body else None

    assert field in assert_error(created, 422)["errors"]["json"]
    if updated is not None:
        assert field in assert_error(updated, 422)["errors"]["json"]
    assert alice.get("/lists").get_json() == [made]


def test_a_name_may_be_used_once_ignoring_letter_case(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    work = alice.create_list("Work")
    home = alice.create_list("Home")

    assert_error(alice.post("/lists", json={"name": " WORK "}), 409)
    assert_error(alice.put(f"/lists/{home['id']}", json={"name": "work"}), 409)
    alice.create_list("Straße")
    assert_error(alice.post("/lists", json={"name": "STRASSE"}), 409)  # casefold
    assert [made["name"] for made in alice.get("/lists").get_json()] == [
        "Work",
        "Home",
        "Straße",
    ]
    bob.create_list("Work")  # another user's names are theirs
    alice.delete(f"/lists/{work['id']}")
    alice.create_list("work")  # a deleted list's name is free again


def test_the_201st_list_is_refused(alice):
    for n in range(MAX_LISTS):
        alice.create_list(f"L{n}")

    response = alice.post("/lists", json={"name": "One too many"})

    assert "200" in assert_error(response, 409)["detail"]
    assert len(alice.get("/lists").get_json()) == MAX_LISTS


def test_tasks_go_into_a_list_and_the_listing_filters_by_it(users_on):
    alice = users_on("alice")
    groceries = alice.create_list("Groceries")
    milk = alice.create(title="Milk", list_id=groceries["id"])
    inbox = alice.create(title="Call mum")

    assert milk["list_id"] == groceries["id"] and inbox["list_id"] is None

    def titles(query):
        response = alice.get(f"/tasks?{query}")
        assert response.status_code == 200, response.get_json()
        return [task["title"] for task in response.get_json()]

    assert titles(f"list_id={groceries['id']}") == ["Milk"]
    assert titles("list_id=none") == ["Call mum"]
    assert titles(f"list_id={groceries['id']}&status=completed") == []
    moved = alice.patch(f"/tasks/{inbox['id']}", json={"list_id": groceries["id"]})
    assert moved.get_json()["list_id"] == groceries["id"]
    back = alice.patch(f"/tasks/{milk['id']}", json={"list_id": None})
    assert back.get_json()["list_id"] is None
    assert titles("list_id=none") == ["Milk"]


def test_deleting_a_list_deletes_every_task_in_it(users_on):
    alice = users_on("alice")
    doomed = alice.create_list("Doomed")
    kept = alice.create(title="Kept")
    parent = alice.create(title="In it", list_id=doomed["id"])
    child = alice.create(title="Its step", parent_id=parent["id"])

    response = alice.delete(f"/lists/{doomed['id']}")

    assert response.status_code == 204 and response.data == b""
    assert_error(alice.get(f"/lists/{doomed['id']}"), 404)
    for task in (parent, child):
        assert_error(alice.get(f"/tasks/{task['id']}"), 404)
    assert alice.get("/tasks").get_json() == [kept]
    assert alice.get("/lists").get_json() == []
    assert_error(alice.delete(f"/lists/{doomed['id']}"), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_another_users_or_a_deleted_list_is_404_like_one_never_made(users_on, method):
    alice, bob = users_on("alice"), users_on("bob")
    theirs = alice.create_list("Alice's")
    gone = bob.create_list("Gone")
    bob.delete(f"/lists/{gone['id']}")
    body = {"name": "hijacked"} if method in ("PUT", "PATCH") else None

    answers = [
        bob.request(method, f"/lists/{list_id}", json=body)
        for list_id in (theirs["id"], gone["id"], NEVER_USED)
    ]

    for answer in answers:
        assert_error(answer, 404)
    assert len({str(answer.get_json()) for answer in answers}) == 1
    assert_error(bob.get("/lists/not-a-uuid"), 404)
    assert alice.get(f"/lists/{theirs['id']}").get_json() == theirs


def test_a_task_naming_a_list_not_the_users_is_422_on_list_id_alike(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    theirs = alice.create_list("Alice's")
    gone = bob.create_list("Gone")
    bob.delete(f"/lists/{gone['id']}")
    task = bob.create(title="Bob's")

    errors = []
    for list_id in (theirs["id"], gone["id"], NEVER_USED):
        for response in (
            bob.post("/tasks", json={"title": "x", "list_id": list_id}),
            bob.patch(f"/tasks/{task['id']}", json={"list_id": list_id}),
            bob.post(f"/tasks/{task['id']}/move", json={"list_id": list_id}),
            bob.get(f"/tasks?list_id={list_id}"),
        ):
            body = assert_error(response, 422)
            location = "query" if response.request.method == "GET" else "json"
            errors.append(body["errors"][location]["list_id"])
    assert len({str(error) for error in errors}) == 1
    assert bob.get("/tasks").get_json() == [task]


@pytest.mark.parametrize("value", ["nope", "1", NEVER_USED[:-1], "NONE!"])
def test_a_listing_list_id_that_is_neither_an_id_nor_none_is_422(alice, value):
    response = alice.get(f"/tasks?list_id={value}")

    assert "list_id" in assert_error(response, 422)["errors"]["query"]


def test_a_task_list_id_that_is_not_an_id_is_422(alice):
    for value in ("nope", 3, ["x"], {"id": NEVER_USED}):
        response = alice.post("/tasks", json={"title": "x", "list_id": value})
        assert "list_id" in assert_error(response, 422)["errors"]["json"]
    assert alice.get("/tasks").get_json() == []
