"""An owner invites people to a list with a code they pass on; whoever accepts
it joins with its role. Codes are random, shown once, kept as a hash, and stop
admitting anyone when expired, used up, revoked, or their list deleted: all of
those look alike."""

import hashlib
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from taskapi.core.db import Session
from taskapi.sharing.models import Invitation
from taskapi.sharing.service import MAX_LIVE_INVITATIONS
from tests.support.responses import assert_error
from tests.support.sharing import invite, shared_list
from tests.support.users import User, new_user_id

URL_SAFE = re.compile(r"[A-Za-z0-9_-]{32,}")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def invitations(owner, list_id) -> list[dict]:
    response = owner.get(f"/lists/{list_id}/invitations")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_invitation_shows_its_code_once_and_keeps_only_its_hash(users_on, app):
    alice = users_on("alice")
    family = alice.create_list("Family")

    response = alice.post(
        f"/lists/{family['id']}/invitations",
        json={"role": "viewer", "expires_in_days": 3, "max_uses": 5},
    )

    assert response.status_code == 201
    made = response.get_json()
    assert set(made) == {
        "id",
        "role",
        "expires_at",
        "max_uses",
        "uses",
        "created_at",
        "code",
    }
    assert (made["role"], made["max_uses"], made["uses"]) == ("viewer", 5, 0)
    lifetime = parse(made["expires_at"]) - parse(made["created_at"])
    assert lifetime == timedelta(days=3)
    assert URL_SAFE.fullmatch(made["code"])  # 24 random bytes: 192 bits
    listed = invitations(alice, family["id"])
    assert listed == [{k: v for k, v in made.items() if k != "code"}]
    with app.app_context():
        stored = Session.scalars(
            select(Invitation.code_hash).where(
                Invitation.list_id == uuid.UUID(family["id"])
            )
        ).all()
        Session.remove()
    assert stored == [hashlib.sha256(made["code"].encode()).hexdigest()]


def test_the_defaults_are_7_days_and_one_use(alice):
    family = alice.create_list("Family")

    made = alice.post(
        f"/lists/{family['id']}/invitations", json={"role": "editor"}
    ).get_json()

    assert parse(made["expires_at"]) - parse(made["created_at"]) == timedelta(days=7)
    assert (made["max_uses"], made["uses"]) == (1, 0)


def test_accepting_makes_a_member_who_sees_the_list(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    family = alice.create_list("Family")
    code = invite(alice, family["id"], "editor")

    response = bob.post("/invitations/accept", json={"code": code})

    assert response.status_code == 200
    seen = response.get_json()
    assert seen == {
        **family,
        "owner_id": alice.id,
        "role": "editor",
        "member_count": 2,
    }
    assert bob.get("/lists").get_json() == [seen]
    assert bob.get(f"/lists/{family['id']}").get_json() == seen
    assert alice.get(f"/lists/{family['id']}").get_json()["member_count"] == 2
    assert invitations(alice, family["id"])[0]["uses"] == 1


def test_every_code_that_admits_no_one_is_the_same_404(alice, bob, carol, app):
    family = alice.create_list("Family")
    used = invite(alice, family["id"])
    share_code = bob.post("/invitations/accept", json={"code": used})
    assert share_code.status_code == 200
    expired = invite(alice, family["id"])
    with app.app_context():
        Session.execute(
            update(Invitation)
            .where(Invitation.code_hash == hashlib.sha256(expired.encode()).hexdigest())
            .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
        )
        Session.commit()
        Session.remove()
    revoked = alice.post(
        f"/lists/{family['id']}/invitations", json={"role": "viewer"}
    ).get_json()
    assert (
        alice.delete(f"/lists/{family['id']}/invitations/{revoked['id']}").status_code
        == 204
    )
    doomed = alice.create_list("Doomed")
    of_deleted = invite(alice, doomed["id"])
    alice.delete(f"/lists/{doomed['id']}")

    answers = [
        carol.post("/invitations/accept", json={"code": code})
        for code in (used, expired, revoked["code"], of_deleted, "no-such-code")
    ]

    bodies = {str(assert_error(answer, 404)) for answer in answers}
    assert len(bodies) == 1
    assert carol.get("/lists").get_json() == []
    assert_error(alice.get(f"/lists/{doomed['id']}/invitations"), 404)


def test_a_many_use_invitation_admits_that_many(alice, bob, carol, client):
    family = alice.create_list("Family")
    code = invite(alice, family["id"], "viewer", max_uses=2)
    dave = User(client, new_user_id("dave"))

    answers = [
        user.post("/invitations/accept", json={"code": code})
        for user in (bob, carol, dave)
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 404]
    assert [member["user_id"] for member in members(alice, family["id"])] == [
        alice.id,
        bob.id,
        carol.id,
    ]


def members(user, list_id) -> list[dict]:
    response = user.get(f"/lists/{list_id}/members")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_owner_or_a_member_accepting_changes_nothing_and_counts_no_use(alice, bob):
    family = shared_list(alice, members=[bob], role="viewer")
    code = invite(alice, family["id"], "editor", max_uses=3)

    by_owner = alice.post("/invitations/accept", json={"code": code})
    by_member = bob.post("/invitations/accept", json={"code": code})

    assert by_owner.status_code == by_member.status_code == 200
    assert by_owner.get_json()["role"] == "owner"
    assert by_member.get_json()["role"] == "viewer"
    assert by_member.get_json()["member_count"] == 2
    assert invitations(alice, family["id"])[0]["uses"] == 0


def test_a_member_who_left_rejoins_with_the_new_role(alice, bob):
    family = shared_list(alice, members=[bob], role="editor")
    assert bob.delete(f"/lists/{family['id']}/members/{bob.id}").status_code == 204
    assert bob.get("/lists").get_json() == []

    again = bob.post(
        "/invitations/accept", json={"code": invite(alice, family["id"], "viewer")}
    )

    assert again.status_code == 200 and again.get_json()["role"] == "viewer"
    listed = members(alice, family["id"])
    assert [(m["user_id"], m["role"]) for m in listed] == [
        (alice.id, "owner"),
        (bob.id, "viewer"),
    ]


def test_revoked_invitations_leave_the_list_and_unknown_ones_are_404(alice):
    family = alice.create_list("Family")
    kept = alice.post(
        f"/lists/{family['id']}/invitations", json={"role": "editor"}
    ).get_json()
    gone = alice.post(
        f"/lists/{family['id']}/invitations", json={"role": "viewer"}
    ).get_json()
    url = f"/lists/{family['id']}/invitations"

    assert alice.delete(f"{url}/{gone['id']}").status_code == 204

    assert [made["id"] for made in invitations(alice, family["id"])] == [kept["id"]]
    for never in (gone["id"], "not-a-uuid", "0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11"):
        assert_error(alice.delete(f"{url}/{never}"), 404)
    other = alice.create_list("Other")
    assert_error(alice.delete(f"/lists/{other['id']}/invitations/{kept['id']}"), 404)


def test_invitations_are_listed_newest_first(alice):
    family = alice.create_list("Family")
    made = [
        alice.post(
            f"/lists/{family['id']}/invitations", json={"role": "viewer"}
        ).get_json()["id"]
        for _ in range(3)
    ]

    assert [i["id"] for i in invitations(alice, family["id"])] == made[::-1]


def test_the_21st_open_invitation_is_refused_until_one_closes(alice, bob):
    family = alice.create_list("Family")
    codes = [invite(alice, family["id"]) for _ in range(MAX_LIVE_INVITATIONS)]
    url = f"/lists/{family['id']}/invitations"

    refused = alice.post(url, json={"role": "editor"})

    assert "20" in assert_error(refused, 409)["detail"]
    assert len(invitations(alice, family["id"])) == MAX_LIVE_INVITATIONS
    # a used-up invitation is no longer open
    assert bob.post("/invitations/accept", json={"code": codes[0]}).status_code == 200
    assert alice.post(url, json={"role": "editor"}).status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "role"),
        ({"role": "owner"}, "role"),
        ({"role": "admin"}, "role"),
        ({"role": "EDITOR"}, "role"),
        ({"role": None}, "role"),
        ({"role": "editor", "expires_in_days": 0}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": 31}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": "7"}, "expires_in_days"),
        ({"role": "editor", "max_uses": 0}, "max_uses"),
        ({"role": "editor", "max_uses": 51}, "max_uses"),
        ({"role": "editor", "max_uses": 1.5}, "max_uses"),
        ({"role": "editor", "code": "mine"}, "code"),
        ({"role": "editor", "uses": 3}, "uses"),
        ({"role": "editor", "colour": "red"}, "colour"),
    ],
)
def test_bad_invitation_bodies_are_422_and_create_nothing(alice, body, field):
    family = alice.create_list("Family")

    response = alice.post(f"/lists/{family['id']}/invitations", json=body)

    assert field in assert_error(response, 422)["errors"]["json"]
    assert invitations(alice, family["id"]) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "code"),
        ({"code": ""}, "code"),
        ({"code": 5}, "code"),
        ({"code": None}, "code"),
        ({"code": "x" * 201}, "code"),
        ({"code": "a\x00b"}, "code"),
        ({"code": "abc", "role": "editor"}, "role"),
    ],
)
def test_bad_accept_bodies_are_422(bob, body, field):
    response = bob.post("/invitations/accept", json=body)

    assert field in assert_error(response, 422)["errors"]["json"]
    assert bob.get("/lists").get_json() == []


def test_invitations_are_the_owners_alone(alice, bob, carol):
    family = shared_list(alice, members=[bob])
    url = f"/lists/{family['id']}/invitations"
    made = alice.post(url, json={"role": "editor"}).get_json()

    for response in (
        bob.get(url),
        bob.post(url, json={"role": "editor"}),
        bob.delete(f"{url}/{made['id']}"),
    ):
        assert_error(response, 403)
    for response in (
        carol.get(url),
        carol.post(url, json={"role": "editor"}),
        carol.delete(f"{url}/{made['id']}"),
    ):
        assert_error(response, 404)
    assert len(invitations(alice, family["id"])) == 2  # shared_list used one


def test_a_deleted_lists_invitations_go_with_it(alice, app):
    doomed = alice.create_list("Doomed")
    for _ in range(3):
        invite(alice, doomed["id"])

    assert alice.delete(f"/lists/{doomed['id']}").status_code == 204

    with app.app_context():
        left = Session.scalars(
            select(Invitation).where(Invitation.list_id == uuid.UUID(doomed["id"]))
        ).all()
        Session.remove()
    assert left == []
