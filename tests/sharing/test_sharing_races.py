"""The sharing limits under concurrent requests, on a real gunicorn (2 workers x
10 threads) and PostgreSQL: a one-use code accepted by 10 people at once admits
one; 10 accepts into a list of 99 people make it 100; 10 invitations created at
once at 19 open make 20."""

import pytest

from taskapi.sharing.service import MAX_LIVE_INVITATIONS, MAX_MEMBERS
from tests.support.sharing import invite, shared_list

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def people(live_server):
    def make(name, count=1):
        return [live_server.user(f"{name}{n}") for n in range(count)]

    return make


def accept(user, code):
    return user.post("/invitations/accept", json={"code": code})


def test_ten_concurrent_accepts_of_a_one_use_code_make_one_member(people, race):
    (alice,) = people("alice")
    family = shared_list(alice)
    code = invite(alice, family["id"], max_uses=1)
    invitees = people("invitee", 10)

    answers = race([lambda user=user: accept(user, code) for user in invitees])

    assert sorted(answer.status_code for answer in answers) == [200] + [404] * 9
    members = alice.get(f"/lists/{family['id']}/members").get_json()
    joined = [answer for answer in answers if answer.status_code == 200]
    assert len(members) == 2 and joined[0].get_json()["member_count"] == 2
    assert alice.get(f"/lists/{family['id']}/invitations").get_json()[0]["uses"] == 1


def test_concurrent_accepts_at_99_people_end_at_exactly_100(people, race):
    (alice,) = people("alice")
    family = shared_list(alice)
    for batch in range(2):
        code = invite(alice, family["id"], max_uses=49)
        for user in people(f"member{batch}-", 49):
            assert accept(user, code).status_code == 200
    assert len(alice.get(f"/lists/{family['id']}/members").get_json()) == 99
    # a code each: the invitation's row lock alone would not keep the count
    codes = [invite(alice, family["id"], "viewer") for _ in range(10)]
    latecomers = people("late", 10)

    answers = race(
        [
            lambda user=user, code=code: accept(user, code)
            for user, code in zip(latecomers, codes, strict=True)
        ]
    )

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 9
    members = alice.get(f"/lists/{family['id']}/members").get_json()
    assert len(members) == MAX_MEMBERS
    got = alice.get(f"/lists/{family['id']}").get_json()
    assert got["member_count"] == MAX_MEMBERS


def test_concurrent_invitations_at_19_open_end_at_exactly_20(people, race):
    (alice,) = people("alice")
    family = shared_list(alice)
    for _ in range(MAX_LIVE_INVITATIONS - 1):
        invite(alice, family["id"])
    url = f"/lists/{family['id']}/invitations"

    answers = race(
        [lambda: alice.post(url, json={"role": "viewer"}) for _ in range(10)]
    )

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 9
    assert len(alice.get(url).get_json()) == MAX_LIVE_INVITATIONS


def test_concurrent_accepts_and_removals_keep_the_count_true(people, race):
    """Joining and leaving at once: every answer is a success, and the list's
    member_count is the number of members listed."""
    (alice,) = people("alice")
    family = shared_list(alice)
    leavers = people("leaver", 5)
    code = invite(alice, family["id"], max_uses=10)
    for user in leavers:
        assert accept(user, code).status_code == 200
    joiners = people("joiner", 5)
    path = f"/lists/{family['id']}/members"

    answers = race(
        [lambda user=user: accept(user, code) for user in joiners]
        + [lambda user=user: user.delete(f"{path}/{user.id}") for user in leavers]
    )

    assert [answer.status_code for answer in answers] == [200] * 5 + [204] * 5
    members = alice.get(path).get_json()
    assert {m["user_id"] for m in members} == {alice.id} | {u.id for u in joiners}
    assert alice.get(f"/lists/{family['id']}").get_json()["member_count"] == 6
