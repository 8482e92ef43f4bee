"""A member removed while writing, on a real gunicorn and PostgreSQL: each of
their writes either committed before the removal or is a 404, never a write
after it."""

import threading
import time

import pytest

from tests.support.sharing import share

pytestmark = pytest.mark.postgres_only


def test_a_removed_member_never_writes_after_the_removal(live_server):
    alice = live_server.user("alice")
    bob = live_server.user("bob")
    family = alice.post("/lists", json={"name": "Family"}).get_json()
    share(alice, family["id"], bob, "editor")
    task = alice.post("/tasks", json={"title": "Milk", "list_id": family["id"]})
    path = f"/tasks/{task.get_json()['id']}"

    answers, started = [], threading.Event()

    def keep_writing():
        for number in range(400):
            answer = bob.patch(path, json={"title": f"Milk {number}"})
            answers.append(answer)
            started.set()
            if answer.status_code == 404:
                return

    writer = threading.Thread(target=keep_writing)
    writer.start()
    started.wait(30)
    time.sleep(0.05)  # a few writes in, then the removal lands among them
    assert alice.delete(f"/lists/{family['id']}/members/{bob.id}").status_code == 204
    seen_then = alice.get(path)
    writer.join(60)

    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 404}, statuses
    assert statuses[-1] == 404 and statuses.count(404) == 1, statuses
    # the last write that answered 200 is what the task holds, as it did right
    # after the removal: nothing was written after it
    last_written, seen_now = answers[-2], alice.get(path)
    assert seen_now.headers["ETag"] == seen_then.headers["ETag"]
    assert seen_now.headers["ETag"] == last_written.headers["ETag"]
    assert seen_now.get_json()["title"] == last_written.get_json()["title"]
