"""Issue 31's promise on real servers: a member's sync client, following the feed
from its own thread against gunicorn while the owner adds and removes members
and several users write the shared lists' tasks, ends holding exactly what the
listings show."""

import random
import threading
import time

import pytest

from tests.support.changes import client_of, full_read
from tests.support.servers import LiveUser
from tests.support.sharing import remove, share
from tests.support.users import new_user_id

SECONDS = 5


class Caller(LiveUser):
    """A user of the live server with the methods tests/support/sharing.py calls;
    any answer but a 5xx is part of the game."""

    def __init__(self, server, name):
        super().__init__(server, new_user_id(name))

    def request(self, method, path, json=None, headers=None):
        response = super().request(method, path, json=json, headers=headers)
        assert response.status_code < 500, (method, path, response.data[:500])
        return response


def writer(user, lists, stop, seed, errors):
    """Creates, edits, completes, moves (between the shared lists and its own
    inbox) and deletes tasks; a write refused (a member removed meanwhile: 404,
    a viewer: 403) is part of the game, a 5xx is not."""
    rng = random.Random(seed)
    mine = []
    try:
        while time.monotonic() < stop:
            action = rng.random()
            if action < 0.35 or not mine:
                body = {"title": f"{user.id[:5]}-{rng.randrange(1000)}"}
                if rng.random() < 0.7:
                    body["list_id"] = rng.choice(lists)
                made = user.post("/tasks", json=body)
                if made.status_code == 201:
                    mine.append(made.get_json()["id"])
                continue
            task = rng.choice(mine)
            if action < 0.55:
                user.patch(f"/tasks/{task}", json={"title": f"e{rng.randrange(99)}"})
            elif action < 0.65:
                user.patch(f"/tasks/{task}/complete")
            elif action < 0.9:
                place = rng.choice([*lists, None])
                user.post(f"/tasks/{task}/move", json={"list_id": place})
            else:
                user.delete(f"/tasks/{task}")
                mine.remove(task)
    except Exception as error:  # reported by the test, with the thread's seed
        errors.append((user.id, seed, error))


def membership_churn(owner, lists, members, stop, seed, errors):
    """The owner invites and removes members, and members leave, at random."""
    rng = random.Random(seed)
    joined = {(list_id, member.id) for list_id in lists[:1] for member in members}
    try:
        while time.monotonic() < stop:
            list_id, member = rng.choice(lists), rng.choice(members)
            if (list_id, member.id) in joined:
                remove(rng.choice([owner, member]), list_id, member.id)
                joined.discard((list_id, member.id))
            else:
                share(owner, list_id, member, rng.choice(["editor", "viewer"]))
                joined.add((list_id, member.id))
            time.sleep(rng.random() * 0.05)
    except Exception as error:
        errors.append((owner.id, seed, error))


@pytest.mark.postgres_only
@pytest.mark.parametrize("run", range(2))
def test_a_members_sync_client_ends_equal_to_the_listings_under_churn(live_server, run):
    names = ("owner", "bob", "carol")
    owner, bob, carol = (Caller(live_server, name) for name in names)
    lists = []
    for n in range(3):
        made = owner.post("/lists", json={"name": f"Shared {n}"})
        assert made.status_code == 201, made.get_json()
        lists.append(made.get_json()["id"])
    for member in (bob, carol):
        share(owner, lists[0], member)
    sync = client_of(bob)
    sync.sync()
    stop, errors = time.monotonic() + SECONDS, []
    threads = [
        threading.Thread(target=writer, args=(user, lists, stop, run * 10 + n, errors))
        for n, user in enumerate((owner, owner, carol, bob))
    ]
    threads.append(
        threading.Thread(
            target=membership_churn,
            args=(owner, lists, [bob, carol], stop, run * 10 + 9, errors),
        )
    )
    for thread in threads:
        thread.start()
    polls, most_held = 0, 0
    while any(thread.is_alive() for thread in threads):
        sync.sync(limit=20)
        polls += 1
        most_held = max(most_held, len(sync.tasks))
    for thread in threads:
        thread.join()
    assert errors == []
    sync.sync(limit=20)
    assert (sync.tasks, sync.lists) == full_read(sync.get)
    # the run had substance: the churn may leave bob few lists at its very end
    assert polls > 5 and most_held > 10
