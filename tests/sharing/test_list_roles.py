"""What each role may do with a shared list itself: everyone who sees it reads
it and who is in it; only its owner renames or deletes it and manages its
invitations and members (others: 403). Who does not see it gets exactly "not
found", the same as for a list never made. Deleting it deletes it, and its
tasks, for everyone."""

import pytest

from taskapi.lists.service import MAX_LISTS
from tests.support.responses import assert_error
from tests.support.sharing import share, shared_list
from tests.support.users import User, new_user_id

NEVER_USED = "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"


@pytest.fixture
def family(alice, bob, carol):
    """alice's list, bob an editor, carol a viewer."""
    made = shared_list(alice, "Family", members=[bob], role="editor")
    share(alice, made["id"], carol, "viewer")
    return made


def owner_only_calls(list_id, member_id):
    url = f"/lists/{list_id}"
    return [
        ("PUT", url, {"name": "Renamed"}),
        ("PATCH", url, {"name": "Renamed"}),
        ("DELETE", url, None),
        ("GET", f"{url}/invitations", None),
        ("POST", f"{url}/invitations", {"role": "editor"}),
        ("DELETE", f"{url}/invitations/{NEVER_USED}", None),
        ("PATCH", f"{url}/members/{member_id}", {"role": "viewer"}),
    ]


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_a_member_reads_the_list_and_its_members(alice, bob, carol, family, role):
    member = bob if role == "editor" else carol

    got = member.get(f"/lists/{family['id']}")
    listed = member.get("/lists")
    people = member.get(f"/lists/{family['id']}/members")

    assert got.status_code == listed.status_code == people.status_code == 200
    seen = got.get_json()
    assert seen == {
        **family,
        "owner_id": alice.id,
        "role": role,
        "member_count": 3,
    }
    assert listed.get_json() == [seen]
    assert len(people.get_json()) == 3


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_a_member_may_not_manage_the_list(alice, bob, carol, family, role):
    member, other = (bob, carol) if role == "editor" else (carol, bob)

    for method, path, body in owner_only_calls(family["id"], other.id):
        response = member.request(method, path, json=body)
        detail = assert_error(response, 403)["detail"]
        assert detail == "Only the list's owner may do this.", (method, path)
    got = alice.get(f"/lists/{family['id']}").get_json()
    assert got["name"] == "Family" and got["member_count"] == 3


def test_the_owner_manages_it(alice, bob, carol, family):
    for method, path, body in owner_only_calls(family["id"], carol.id)[:2]:
        response = alice.request(method, path, json=body)
        assert response.status_code == 200, (method, path)
    assert bob.get(f"/lists/{family['id']}").get_json()["name"] == "Renamed"
    invited = alice.post(f"/lists/{family['id']}/invitations", json={"role": "viewer"})
    assert invited.status_code == 201
    assert alice.get(f"/lists/{family['id']}/invitations").status_code == 200


def test_a_stranger_gets_not_found_everywhere_as_for_a_list_never_made(
    alice, bob, family, client
):
    stranger = User(client, new_user_id("mallory"))
    calls = [
        *owner_only_calls(family["id"], bob.id),
        ("GET", f"/lists/{family['id']}", None),
        ("GET", f"/lists/{family['id']}/members", None),
        ("DELETE", f"/lists/{family['id']}/members/{bob.id}", None),
    ]

    bodies = set()
    for method, path, body in calls:
        for url in (path, path.replace(family["id"], NEVER_USED)):
            response = stranger.request(method, url, json=body)
            bodies.add(str(assert_error(response, 404)))
    assert len(bodies) == 1
    assert stranger.get("/lists").get_json() == []
    assert alice.get(f"/lists/{family['id']}").get_json()["name"] == "Family"


def test_deleting_a_shared_list_deletes_it_and_its_tasks_for_everyone(
    alice, bob, carol, family
):
    by_owner = alice.create(title="Milk", list_id=family["id"])
    by_editor = bob.create(title="Bread", list_id=family["id"])
    bobs_own = bob.create(title="Mine")

    response = alice.delete(f"/lists/{family['id']}")

    assert response.status_code == 204
    for user in (alice, bob, carol):
        assert user.get("/lists").get_json() == []
        assert_error(user.get(f"/lists/{family['id']}"), 404)
        for task in (by_owner, by_editor):
            assert_error(user.get(f"/tasks/{task['id']}"), 404)
    assert bob.get("/tasks").get_json() == [bobs_own]


def test_lists_come_own_and_shared_in_creation_order(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    first = bob.create_list("Bob's first")
    family = shared_list(alice, "Family", members=[bob])
    last = bob.create_list("Bob's last")

    listed = bob.get("/lists").get_json()

    assert [made["id"] for made in listed] == [first["id"], family["id"], last["id"]]
    assert [made["role"] for made in listed] == ["owner", "editor", "owner"]
    assert [made["owner_id"] for made in listed] == [bob.id, alice.id, bob.id]


def test_a_name_is_unique_per_owner_not_among_shared_lists(alice, bob):
    shared_list(alice, "Family", members=[bob])

    response = bob.post("/lists", json={"name": "family"})

    assert response.status_code == 201
    assert [made["name"] for made in bob.get("/lists").get_json()] == [
        "Family",
        "family",
    ]


def test_the_200_list_limit_counts_the_lists_one_owns(alice, bob):
    shared_list(alice, "Family", members=[bob])

    for number in range(MAX_LISTS):
        bob.create_list(f"L{number}")

    assert_error(bob.post("/lists", json={"name": "One too many"}), 409)
    assert len(bob.get("/lists").get_json()) == MAX_LISTS + 1
