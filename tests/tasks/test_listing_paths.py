"""A listing page reads the same tasks whichever way the statement takes: shallow
pages straight from the sorted scan, deep pages (past DIRECT_PAGE_MAX_OFFSET)
choosing ids first and joining them to their rows."""

import pytest

from taskapi.tasks import listing

QUERIES = [
    "per_page=3",
    "per_page=3&page=2",
    "per_page=4&page=3&sort=title",
    "per_page=2&page=2&sort=-due_date",
    "per_page=2&sort=priority&completed=false",
    "per_page=5&tag=home",
    "per_page=3&page=9",  # past the end: no tasks, the total still given
]


@pytest.fixture
def tasks(alice):
    for number, (priority, due) in enumerate(
        [("low", None), ("high", "2026-12-01"), ("urgent", "2026-11-30")] * 3
    ):
        alice.create(
            title=f"Task {number:02d} {'ABC'[number % 3]}",
            priority=priority,
            due_date=due,
            completed=number % 4 == 0,
            tags=["home"] if number % 2 else ["work"],
        )


def list_page(user, query):
    response = user.get(f"/tasks?{query}")
    assert response.status_code == 200
    return response.get_json(), response.headers["X-Total-Count"]


@pytest.mark.parametrize("query", QUERIES)
def test_deep_and_shallow_pages_read_the_same_tasks(
    alice, bob, tasks, query, monkeypatch
):
    bob.create(title="Not Alice's")
    shallow = list_page(alice, query)
    monkeypatch.setattr(listing, "DIRECT_PAGE_MAX_OFFSET", -1)  # every page is deep
    deep = list_page(alice, query)
    assert deep == shallow
    assert all(task["user_id"] == alice.id for task in shallow[0])
