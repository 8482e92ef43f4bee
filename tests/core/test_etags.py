"""Two tabs edit the same task: ETags tell a client what it last saw, If-None-Match
saves re-downloading it, and If-Match makes a stale write fail (412) instead of
silently overwriting someone else's change."""

import functools
import re
import uuid

import pytest

from tests.support.responses import assert_error

STRONG_TAG = re.compile(r'"[\x21\x23-\x7e]+"')

# Every write a client can make conditional, with a body that changes the task.
WRITES = [
    ("put", "", {"title": "Changed by PUT"}),
    ("patch", "", {"title": "Changed by PATCH"}),
    ("patch", "/complete", None),  # toggle
    ("patch", "/complete", {"completed": True}),
    ("delete", "", None),
]
WRITE_IDS = ["PUT", "PATCH", "toggle", "set-completed", "DELETE"]


def write(user, task_id, method, suffix, body, **headers):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return getattr(user, method)(f"/tasks/{task_id}{suffix}", **kwargs)


def test_every_single_task_response_carries_a_strong_etag(users_on):
    alice = users_on("alice")
    created = alice.post("/tasks", json={"title": "Buy milk"})
    task_id = created.get_json()["id"]
    url = f"/tasks/{task_id}"

    responses = {
        "POST": created,
        "GET": alice.get(url),
        "PUT": alice.put(url, json={"title": "Buy oat milk"}),
        "PATCH": alice.patch(url, json={"priority": "high"}),
        "complete": alice.patch(url + "/complete"),
    }

    for name, response in responses.items():
        assert response.status_code in (200, 201), name
        assert STRONG_TAG.fullmatch(response.headers["ETag"]), name
    tags = [response.headers["ETag"] for response in responses.values()]
    assert tags[0] == tags[1]  # a GET after the POST: nothing changed in between
    assert len(set(tags[1:])) == 4  # each write changed the task, and its tag
    assert alice.get(url).headers["ETag"] == tags[-1]


def test_the_etag_changes_exactly_when_the_task_does(alice):
    task = alice.create(title="Plan trip", priority="low", tags=["x"])
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    unchanged = alice.put(url, json={"title": "Plan trip", "priority": "LOW"})
    assert unchanged.headers["ETag"] == tag
    assert alice.patch(url, json={"tags": ["X"]}).headers["ETag"] == tag
    assert alice.patch(url + "/complete", json={"completed": False}).headers[
        "ETag"
    ] == (tag)

    changed = alice.patch(url, json={"title": "Plan the trip"})
    assert changed.headers["ETag"] != tag
    assert alice.get(url).headers["ETag"] == changed.headers["ETag"]


def test_two_tasks_never_share_a_tag(alice):
    first, second = alice.create(), alice.create()
    first_tag = alice.get(f"/tasks/{first['id']}").headers["ETag"]
    second_tag = alice.get(f"/tasks/{second['id']}").headers["ETag"]
    assert first_tag != second_tag

    # so a tag from one task cannot pass If-Match on another
    response = alice.patch(
        f"/tasks/{second['id']}", json={"title": "x"}, headers={"If-Match": first_tag}
    )
    assert response.status_code == 412


# If-None-Match ---------------------------------------------------------------


def test_if_none_match_with_the_current_tag_is_304_with_an_empty_body(users_on):
    alice = users_on("alice")
    task = alice.create()
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    response = alice.get(url, headers={"If-None-Match": tag})

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag


@pytest.mark.parametrize(
    "header",
    ["{tag}", "*", '"nope", {tag}', '"a",{tag} , "b"', "W/{tag}"],
    ids=["tag", "star", "list", "list-no-spaces", "weak-matches-weakly"],
)
def test_if_none_match_accepts_star_lists_and_weak_tags(alice, header):
    task = alice.create()
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    response = alice.get(url, headers={"If-None-Match": header.format(tag=tag)})

    assert response.status_code == 304
    assert response.headers["ETag"] == tag


def test_if_none_match_with_an_old_tag_gets_the_new_task(alice):
    task = alice.create(title="Old")
    url = f"/tasks/{task['id']}"
    old_tag = alice.get(url).headers["ETag"]
    new_tag = alice.patch(url, json={"title": "New"}).headers["ETag"]

    response = alice.get(url, headers={"If-None-Match": f'{old_tag}, "other"'})

    assert response.status_code == 200
    assert response.get_json()["title"] == "New"
    assert response.headers["ETag"] == new_tag


def test_if_none_match_on_a_missing_or_foreign_task_is_404(alice, bob):
    task = bob.create()
    for task_id in (task["id"], str(uuid.uuid4())):
        response = alice.get(f"/tasks/{task_id}", headers={"If-None-Match": "*"})
        assert assert_error(response, 404)["detail"] == "Task not found."


# If-Match ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES, ids=WRITE_IDS)
def test_a_stale_if_match_is_412_and_changes_nothing(users_on, method, suffix, body):
    alice = users_on("alice")
    task = alice.create(title="Original")
    url = f"/tasks/{task['id']}"
    stale_tag = alice.get(url).headers["ETag"]
    current = alice.patch(url, json={"description": "someone else's edit"})

    response = write(alice, task["id"], method, suffix, body, **{"If-Match": stale_tag})

    error = assert_error(response, 412, "Precondition Failed")
    assert "If-Match" in error["detail"]
    after = alice.get(url)
    assert after.get_json() == current.get_json()
    assert after.headers["ETag"] == current.headers["ETag"]


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES, ids=WRITE_IDS)
def test_a_current_if_match_lets_the_write_through(alice, method, suffix, body):
    task = alice.create(title="Original")
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    response = write(alice, task["id"], method, suffix, body, **{"If-Match": tag})

    if method == "delete":
        assert response.status_code == 204
        assert alice.get(url).status_code == 404
        return
    assert response.status_code == 200
    assert response.headers["ETag"] != tag
    assert response.get_json() == alice.get(url).get_json()
    assert response.get_json() != task


@pytest.mark.parametrize(
    "header",
    ["*", '"nope", {tag}', '{tag},"nope"'],
    ids=["star", "list", "list-no-spaces"],
)
def test_if_match_accepts_star_and_lists(alice, header):
    task = alice.create(title="Original")
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    response = alice.put(
        url, json={"title": "Changed"}, headers={"If-Match": header.format(tag=tag)}
    )

    assert response.status_code == 200
    assert response.get_json()["title"] == "Changed"


@pytest.mark.parametrize("header", ["W/{tag}", '"nope"', "garbage", '""'])
def test_weak_and_unknown_tags_never_match_if_match(alice, header):
    task = alice.create(title="Original")
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    response = alice.put(
        url, json={"title": "Changed"}, headers={"If-Match": header.format(tag=tag)}
    )

    assert response.status_code == 412
    assert alice.get(url).get_json()["title"] == "Original"


@pytest.mark.parametrize("headers", [{}, {"If-Match": ""}], ids=["none", "empty"])
def test_without_if_match_the_write_goes_ahead(alice, headers):
    task = alice.create(title="Original")
    url = f"/tasks/{task['id']}"
    alice.patch(url, json={"description": "an edit this client never saw"})

    response = alice.put(url, json={"title": "Mine"}, headers=headers)

    assert response.status_code == 200
    assert response.get_json()["title"] == "Mine"
    assert response.get_json()["description"] == "an edit this client never saw"


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES, ids=WRITE_IDS)
def test_if_match_on_a_missing_or_foreign_task_is_404(alice, bob, method, suffix, body):
    bobs = bob.create(title="Bob's")
    bobs_tag = bob.get(f"/tasks/{bobs['id']}").headers["ETag"]

    for task_id in (bobs["id"], str(uuid.uuid4()), "not-a-uuid"):
        response = write(alice, task_id, method, suffix, body, **{"If-Match": "*"})
        assert assert_error(response, 404)["detail"] == "Task not found."
    response = write(alice, bobs["id"], method, suffix, body, **{"If-Match": bobs_tag})
    assert response.status_code == 404
    assert bob.get(f"/tasks/{bobs['id']}").get_json() == bobs


def test_an_unchanged_write_with_a_current_if_match_is_200_and_keeps_the_tag(alice):
    task = alice.create(title="Same", completed=True)
    url = f"/tasks/{task['id']}"
    tag = alice.get(url).headers["ETag"]

    same = alice.put(url, json={"title": "Same"}, headers={"If-Match": tag})
    set_again = alice.patch(
        url + "/complete", json={"completed": True}, headers={"If-Match": tag}
    )

    for response in (same, set_again):
        assert response.status_code == 200
        assert response.headers["ETag"] == tag
        assert response.get_json() == task


def test_toggle_and_set_with_if_match(alice):
    task = alice.create()
    url = f"/tasks/{task['id']}/complete"
    tag = alice.get(f"/tasks/{task['id']}").headers["ETag"]

    toggled = alice.patch(url, headers={"If-Match": tag})
    assert toggled.status_code == 200
    assert toggled.get_json()["completed"] is True

    # a second tab toggling with the tag it read before the first toggle fails
    assert alice.patch(url, headers={"If-Match": tag}).status_code == 412
    stale_set = alice.patch(url, json={"completed": False}, headers={"If-Match": tag})
    assert stale_set.status_code == 412
    assert alice.get(f"/tasks/{task['id']}").get_json()["completed"] is True

    reopened = alice.patch(
        url, json={"completed": False}, headers={"If-Match": toggled.headers["ETag"]}
    )
    assert reopened.status_code == 200
    assert reopened.get_json()["completed"] is False
    assert reopened.get_json()["completed_at"] is None


def test_preflight_allows_the_conditional_headers_and_etag_is_readable(client, alice):
    origin = "http://localhost:3000"
    task = alice.create()
    url = f"{alice.prefix}/tasks/{task['id']}"

    preflight = client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "if-match,if-none-match,idempotency-key",
        },
    )
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    for header in ("if-match", "if-none-match", "idempotency-key"):
        assert header in allowed

    response = alice.get(f"/tasks/{task['id']}", headers={"Origin": origin})
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


# Real concurrency: a gunicorn server, requests released at the same moment --------

RACERS = 20


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "", lambda i: {"title": f"Writer {i}", "priority": "high"}),
        ("PATCH", "", lambda i: {"title": f"Writer {i}"}),
        ("PATCH", "/complete", lambda i: None),  # toggle
        ("PATCH", "/complete", lambda i: {"completed": True}),
    ],
    ids=["PUT", "PATCH", "toggle", "set-completed"],
)
def test_writers_racing_with_one_if_match_one_wins_the_rest_get_412(
    live_server, race, method, suffix, body
):
    alice = live_server.user("alice")
    created = alice.request("POST", "/tasks", json={"title": "Contended"})
    url = f"/tasks/{created.get_json()['id']}"
    tag = created.headers["ETag"]

    responses = race(
        [
            functools.partial(
                alice.request,
                method,
                url + suffix,
                json=body(i),
                headers={"If-Match": tag},
            )
            for i in range(RACERS)
        ]
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * (RACERS - 1)
    (winner,) = [r for r in responses if r.status_code == 200]
    for loser in (r for r in responses if r.status_code == 412):
        assert_error(loser, 412)
    final = alice.request("GET", url)
    assert final.get_json() == winner.get_json()
    assert final.headers["ETag"] == winner.headers["ETag"] != tag
    assert final.get_json() != created.get_json()


@pytest.mark.postgres_only
def test_deleters_racing_with_one_if_match_delete_once(live_server, race):
    alice = live_server.user("alice")
    created = alice.request("POST", "/tasks", json={"title": "Contended"})
    url = f"/tasks/{created.get_json()['id']}"
    tag = created.headers["ETag"]

    responses = race(
        [
            functools.partial(alice.request, "DELETE", url, headers={"If-Match": tag})
            for _ in range(RACERS)
        ]
    )

    # the others find the task gone, as any request after a delete does
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [204] + [404] * (RACERS - 1)
    assert alice.request("GET", url).status_code == 404


@pytest.mark.postgres_only
def test_concurrent_edits_and_toggles_without_if_match_lose_no_update(
    live_server, race
):
    alice = live_server.user("alice")
    created = alice.request("POST", "/tasks", json={"title": "Busy"})
    url = f"/tasks/{created.get_json()['id']}"
    toggles = RACERS + 1  # odd: the task ends completed
    calls = [
        functools.partial(alice.request, "PATCH", url + "/complete")
        for _ in range(toggles)
    ] + [
        functools.partial(alice.request, method, url, json={"description": f"edit {i}"})
        for i, method in enumerate(["PUT", "PATCH"] * (RACERS // 2))
    ]

    responses = race(calls)

    assert {response.status_code for response in responses} == {200}
    # every write made its own version of the task: no two answered the same tag
    tags = {response.headers["ETag"] for response in responses}
    assert len(tags) == len(calls)
    final = alice.request("GET", url)
    assert final.headers["ETag"] in tags
    assert final.get_json()["completed"] is True
    assert final.get_json()["description"] in {f"edit {i}" for i in range(RACERS)}
