"""The people in a shared list: everyone who sees it reads who is in it; the
owner changes roles and removes members; a member leaves. Whoever leaves or is
removed loses the list at once, and is unassigned from its tasks."""

import pytest

from tests.support.responses import assert_error
from tests.support.sharing import invite, remove, share, shared_list
from tests.support.users import User, new_user_id

NEVER_USED = "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"


@pytest.fixture
def dave(client):
    return User(client, new_user_id("dave"))


def members(user, list_id) -> list[tuple[str, str]]:
    response = user.get(f"/lists/{list_id}/members")
    assert response.status_code == 200, response.get_json()
    return [(member["user_id"], member["role"]) for member in response.get_json()]


def test_the_owner_comes_first_then_members_as_they_joined(users_on):
    alice, bob, carol = users_on("alice"), users_on("bob"), users_on("carol")
    family = alice.create_list("Family")
    share(alice, family["id"], carol, "viewer")
    share(alice, family["id"], bob, "editor")

    response = bob.get(f"/lists/{family['id']}/members")

    assert response.status_code == 200
    listed = response.get_json()
    assert [(m["user_id"], m["role"]) for m in listed] == [
        (alice.id, "owner"),
        (carol.id, "viewer"),
        (bob.id, "editor"),
    ]
    assert set(listed[0]) == {"user_id", "role", "joined_at"}
    assert listed[0]["joined_at"] == family["created_at"]
    assert listed[0]["joined_at"] < listed[1]["joined_at"] < listed[2]["joined_at"]
    assert members(carol, family["id"]) == members(alice, family["id"])


def test_the_owner_changes_a_members_role(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    family = shared_list(alice, members=[bob], role="editor")
    before = bob.get(f"/lists/{family['id']}")

    response = alice.patch(
        f"/lists/{family['id']}/members/{bob.id}", json={"role": "viewer"}
    )

    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["user_id"], changed["role"]) == (bob.id, "viewer")
    after = bob.get(f"/lists/{family['id']}")
    assert after.get_json()["role"] == "viewer"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert (
        bob.get(
            f"/lists/{family['id']}", headers={"If-None-Match": before.headers["ETag"]}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "role"),
        ({"role": "owner"}, "role"),
        ({"role": "boss"}, "role"),
        ({"role": 1}, "role"),
        ({"role": "viewer", "user_id": "x"}, "user_id"),
        ({"role": "viewer", "colour": "red"}, "colour"),
    ],
)
def test_bad_role_bodies_are_422_and_change_nothing(alice, bob, body, field):
    family = shared_list(alice, members=[bob], role="editor")

    response = alice.patch(f"/lists/{family['id']}/members/{bob.id}", json=body)

    assert field in assert_error(response, 422)["errors"]["json"]
    assert members(alice, family["id"])[1] == (bob.id, "editor")


def test_the_owners_role_cannot_be_changed(alice, bob):
    family = shared_list(alice, members=[bob])

    response = alice.patch(
        f"/lists/{family['id']}/members/{alice.id}", json={"role": "viewer"}
    )

    assert "role" in assert_error(response, 422)["errors"]["json"]
    assert members(alice, family["id"])[0] == (alice.id, "owner")


def test_only_the_owner_changes_roles(alice, bob, carol, dave):
    family = shared_list(alice, members=[bob, carol], role="editor")
    url = f"/lists/{family['id']}/members"

    own = bob.patch(f"{url}/{bob.id}", json={"role": "viewer"})
    other = bob.patch(f"{url}/{carol.id}", json={"role": "viewer"})
    stranger = dave.patch(f"{url}/{bob.id}", json={"role": "viewer"})

    assert assert_error(own, 403) == assert_error(other, 403)
    assert "owner" in own.get_json()["detail"]
    assert_error(stranger, 404)
    assert [role for _, role in members(alice, family["id"])] == [
        "owner",
        "editor",
        "editor",
    ]


def test_changing_someone_not_in_the_list_is_404(alice, bob, carol):
    family = shared_list(alice, members=[bob])
    url = f"/lists/{family['id']}/members"
    remove(alice, family["id"], bob.id)

    for user_id in (carol.id, bob.id):  # never in it; left
        assert_error(alice.patch(f"{url}/{user_id}", json={"role": "viewer"}), 404)
        assert_error(alice.delete(f"{url}/{user_id}"), 404)


def test_the_owner_removes_a_member_who_then_sees_nothing_of_the_list(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    family = shared_list(alice, members=[bob])
    url = f"/lists/{family['id']}"

    response = alice.delete(f"{url}/members/{bob.id}")

    assert response.status_code == 204 and response.data == b""
    assert bob.get("/lists").get_json() == []
    for path in (url, f"{url}/members"):
        assert_error(bob.get(path), 404)
    assert members(alice, family["id"]) == [(alice.id, "owner")]
    assert alice.get(url).get_json()["member_count"] == 1


def test_a_member_leaves(alice, bob, carol):
    family = shared_list(alice, members=[bob, carol], role="viewer")

    response = bob.delete(f"/lists/{family['id']}/members/{bob.id}")

    assert response.status_code == 204
    assert bob.get("/lists").get_json() == []
    assert members(carol, family["id"]) == [(alice.id, "owner"), (carol.id, "viewer")]


def test_a_member_removes_no_one_else_and_a_stranger_no_one(alice, bob, carol, dave):
    family = shared_list(alice, members=[bob, carol])
    url = f"/lists/{family['id']}/members"

    assert "owner" in assert_error(bob.delete(f"{url}/{carol.id}"), 403)["detail"]
    assert_error(bob.delete(f"{url}/{alice.id}"), 403)
    assert_error(dave.delete(f"{url}/{bob.id}"), 404)
    assert len(members(alice, family["id"])) == 3


def test_the_owner_cannot_be_removed(alice, bob):
    family = shared_list(alice, members=[bob])

    response = alice.delete(f"/lists/{family['id']}/members/{alice.id}")

    body = assert_error(response, 422)
    assert "user_id" in body["errors"]["path"]
    assert alice.get(f"/lists/{family['id']}").status_code == 200


def test_who_leaves_is_unassigned_from_the_lists_tasks(alice, bob, carol):
    family = shared_list(alice, members=[bob, carol])
    theirs = alice.create(title="Bins", list_id=family["id"], assignee_id=bob.id)
    tag = alice.get(f"/tasks/{theirs['id']}").headers["ETag"]
    others = alice.create(title="Dog", list_id=family["id"], assignee_id=carol.id)
    own = bob.create(title="Bob's own", assignee_id=bob.id)

    remove(bob, family["id"], bob.id)

    got = alice.get(f"/tasks/{theirs['id']}")
    after = got.get_json()
    assert after["assignee_id"] is None and got.headers["ETag"] != tag
    assert after["updated_at"] > theirs["updated_at"]
    assert alice.get(f"/tasks/{others['id']}").get_json() == others
    assert bob.get(f"/tasks/{own['id']}").get_json()["assignee_id"] == bob.id
    assert_error(bob.get(f"/tasks/{theirs['id']}"), 404)


def test_a_removed_member_rejoining_sees_the_list_again(alice, bob):
    family = shared_list(alice, members=[bob])
    remove(alice, family["id"], bob.id)

    code = invite(alice, family["id"], "viewer")
    response = bob.post("/invitations/accept", json={"code": code})

    assert response.status_code == 200
    assert [made["id"] for made in bob.get("/lists").get_json()] == [family["id"]]


def test_a_join_changes_the_lists_etag_and_member_count(alice, bob):
    family = alice.create_list("Family")
    url = f"/lists/{family['id']}"
    tag = alice.get(url).headers["ETag"]

    share(alice, family["id"], bob)

    got = alice.get(url, headers={"If-None-Match": tag})
    assert got.status_code == 200
    assert got.get_json()["member_count"] == 2 and got.headers["ETag"] != tag
    stale = alice.put(url, json={"name": "Home"}, headers={"If-Match": tag})
    assert_error(stale, 412)
    fresh = alice.put(
        url, json={"name": "Home"}, headers={"If-Match": got.headers["ETag"]}
    )
    assert fresh.status_code == 200


def test_member_paths_of_unknown_lists_are_404(alice, bob):
    for list_id in (NEVER_USED, "not-a-uuid"):
        assert_error(alice.get(f"/lists/{list_id}/members"), 404)
        assert_error(alice.delete(f"/lists/{list_id}/members/{bob.id}"), 404)
        response = alice.patch(
            f"/lists/{list_id}/members/{bob.id}", json={"role": "viewer"}
        )
        assert_error(response, 404)
