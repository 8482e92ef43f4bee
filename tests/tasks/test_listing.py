"""A user lists their tasks: filters, search, sort, pages and the headers that
describe them, the same on PostgreSQL and on SQLite."""

import json
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from marshmallow import fields
from sqlalchemy import update

from taskapi.core.db import Session
from taskapi.tasks.filters import FILTERS, check_filters
from taskapi.tasks.models import Task
from taskapi.tasks.schemas import TaskQuerySchema
from tests.support.responses import assert_error, exposed_headers
from tests.support.sql import sent_statements

SORT_KEYS = ("created_at", "updated_at", "due_date", "priority", "title")
RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}


def ids(response):
    assert response.status_code == 200, response.get_json()
    return [task["id"] for task in response.get_json()]


def titles(response):
    assert response.status_code == 200, response.get_json()
    return sorted(task["title"] for task in response.get_json())


def links(response) -> dict:
    """The Link header as {rel: url}."""
    header = response.headers.get("Link")
    if header is None:
        return {}
    result = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        assert url.startswith("<") and url.endswith(">")
        assert rel.startswith('rel="') and rel.endswith('"')
        result[rel[5:-1]] = url[1:-1]
    return result


def pagination(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


def expected_order(tasks, sort):
    """The contract's order, computed here from the task bodies."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")

    def value(task):
        if key == "priority":
            return RANK[task["priority"]]
        if key == "title":
            return task["title"].lower()
        raw = task[key]
        return None if raw is None else datetime.fromisoformat(raw)

    dated = [t for t in tasks if value(t) is not None]
    undated = [t for t in tasks if value(t) is None]
    ordered = sorted(dated, key=lambda t: (value(t), t["id"]), reverse=descending)
    ordered += sorted(undated, key=lambda t: t["id"], reverse=descending)  # last
    return [t["id"] for t in ordered]


def walk(user, query):
    """Every page of a listing, following `next` links as a frontend would."""
    seen = []
    response = user.get(f"/tasks?{query}")
    while True:
        seen += ids(response)
        following = links(response).get("next")
        if following is None:
            return seen
        response = user.client.get(following, headers=user.headers)


@pytest.fixture
def tied_tasks(app, alice):
    """Thirteen tasks with ties in every sort key (timestamps set equal in the
    database, since the API stamps them itself), and deleted ones that must never
    show."""
    specs = [
        ("apple", "low", "2026-12-01"),
        ("Apple", "low", "2026-12-01"),
        ("banana", "high", None),
        ("Banana", "urgent", "2026-12-01T09:00:00Z"),
        ("cherry", "medium", None),
        ("apple", "high", "2026-11-30"),
        ("date", "urgent", None),
        ("Elder", "medium", "2026-12-02"),
        ("fig", "low", "2026-12-01T09:00:00Z"),
        ("fig", "medium", None),
        ("grape", "high", "2027-01-01"),
        ("apple", "urgent", "2026-12-02"),
        ("Zucchini", "low", None),
    ]
    created = [
        alice.create(title=title, priority=priority, due_date=due)
        for title, priority, due in specs
    ]
    for _ in range(2):
        assert alice.delete(f"/tasks/{alice.create()['id']}").status_code == 204
    with app.app_context():
        same = [uuid.UUID(t["id"]) for t in created[2:9]]
        Session.execute(
            update(Task)
            .where(Task.id.in_(same))
            .values(
                created_at=datetime.fromisoformat("2026-11-21T10:00:00+00:00"),
                updated_at=datetime.fromisoformat("2026-11-21T11:00:00+00:00"),
            )
        )
        Session.commit()
    return [alice.get(f"/tasks/{t['id']}").get_json() for t in created]


# Order ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sort", [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)], ids=str
)
def test_walking_every_page_of_any_sort_returns_each_task_once_in_order(
    alice, tied_tasks, sort
):
    walked = walk(alice, f"sort={sort}&per_page=3")

    assert walked == expected_order(tied_tasks, sort)
    assert sorted(walked) == sorted(t["id"] for t in tied_tasks)


def test_the_default_order_is_newest_first(alice, tied_tasks):
    assert ids(alice.get("/tasks")) == expected_order(tied_tasks, "-created_at")


def test_tasks_without_a_due_date_come_last_both_ways(alice, tied_tasks):
    for sort in ("due_date", "-due_date"):
        listed = alice.get(f"/tasks?sort={sort}").get_json()
        due = [task["due_date"] for task in listed]
        assert due[-5:] == [None] * 5 and None not in due[:-5]
    earliest = alice.get("/tasks?sort=due_date").get_json()[0]
    latest = alice.get("/tasks?sort=-due_date").get_json()[0]
    assert (earliest["due_date"], latest["due_date"]) == (
        "2026-11-30T00:00:00Z",
        "2027-01-01T00:00:00Z",
    )


def test_priority_sorts_by_rank_not_by_name(alice):
    for priority in ("medium", "urgent", "low", "high"):
        alice.create(title=priority, priority=priority)

    listed = alice.get("/tasks?sort=-priority").get_json()

    assert [task["priority"] for task in listed] == ["urgent", "high", "medium", "low"]


def test_title_sort_ignores_letter_case(alice):
    for title in ("banana", "Cherry", "apple", "Banana 2"):
        alice.create(title=title)

    listed = alice.get("/tasks?sort=title").get_json()

    assert [t["title"] for t in listed] == ["apple", "banana", "Banana 2", "Cherry"]


# Filters -------------------------------------------------------------------------


def test_completed_filters_open_or_done_tasks(alice):
    done = alice.create(title="done", completed=True)["id"]
    open_ = alice.create(title="open")["id"]

    assert ids(alice.get("/tasks?completed=true")) == [done]
    assert ids(alice.get("/tasks?completed=false")) == [open_]
    assert ids(alice.get("/tasks?completed=FALSE")) == [open_]
    assert alice.get("/tasks?completed=false").headers["X-Total-Count"] == "1"


def test_priority_filter_repeats_and_ignores_case(alice):
    for priority in ("low", "medium", "high", "urgent"):
        alice.create(title=priority, priority=priority)

    assert titles(alice.get("/tasks?priority=high")) == ["high"]
    assert titles(alice.get("/tasks?priority=HIGH&priority=urgent")) == [
        "high",
        "urgent",
    ]


def test_a_task_must_carry_every_tag_asked_for(alice):
    alice.create(title="both", tags=["home", "errands"])
    alice.create(title="home only", tags=["home"])
    alice.create(title="errands and more", tags=["errands", "x", "home"])
    alice.create(title="no tags")

    assert titles(alice.get("/tasks?tag=home")) == [
        "both",
        "errands and more",
        "home only",
    ]
    assert titles(alice.get("/tasks?tag=home&tag=Errands")) == [
        "both",
        "errands and more",
    ]
    assert titles(alice.get("/tasks?tag=home&tag=nope")) == []


def test_tags_match_whole_tags_only(alice):
    alice.create(title="homework", tags=["homework"])
    alice.create(title="quoted", tags=['"home"'])

    assert titles(alice.get("/tasks?tag=home")) == []
    assert titles(alice.get('/tasks?tag="home"')) == ["quoted"]


def test_q_finds_a_substring_of_title_or_description_in_any_case(alice):
    alice.create(title="Buy MILK")
    alice.create(title="Call mum", description="ask about the milkman")
    alice.create(title="Fix bike")

    assert titles(alice.get("/tasks?q=milk")) == ["Buy MILK", "Call mum"]
    assert titles(alice.get("/tasks?q=Milk")) == ["Buy MILK", "Call mum"]
    assert titles(alice.get("/tasks?search=BIKE")) == ["Fix bike"]
    assert titles(alice.get("/tasks?q=")) == ["Buy MILK", "Call mum", "Fix bike"]


@pytest.mark.parametrize("special", ["%", "_", "\\"])
def test_q_takes_like_wildcards_literally(alice, special):
    alice.create(title=f"100{special} done")
    alice.create(title="100x done")
    alice.create(title="1000 done")

    assert titles(alice.get("/tasks", query_string={"q": f"100{special}"})) == [
        f"100{special} done"
    ]
    assert titles(alice.get("/tasks", query_string={"q": special})) == [
        f"100{special} done"
    ]


@pytest.mark.postgres_only
def test_q_ignores_case_beyond_ascii_on_postgres(alice):
    alice.create(title="Überweisung an die École")
    alice.create(title="ΣΟΦΙΑ")

    assert titles(alice.get("/tasks?q=überweisung")) == ["Überweisung an die École"]
    assert titles(alice.get("/tasks?q=ÉCOLE")) == ["Überweisung an die École"]
    assert titles(alice.get("/tasks?q=σοφ")) == ["ΣΟΦΙΑ"]


def test_q_matches_emoji_and_any_unicode(alice):
    alice.create(title="Party 🎉 tonight")
    alice.create(title="Party tomorrow")

    assert titles(alice.get("/tasks", query_string={"q": "🎉"})) == ["Party 🎉 tonight"]


def test_due_after_is_inclusive_and_due_before_exclusive(alice):
    alice.create(title="nov 30", due_date="2026-11-30T23:59:59Z")
    alice.create(title="dec 1", due_date="2026-12-01T00:00:00Z")
    alice.create(title="dec 2", due_date="2026-12-02T00:00:00Z")
    alice.create(title="undated")

    assert titles(alice.get("/tasks?due_after=2026-12-01")) == ["dec 1", "dec 2"]
    assert titles(alice.get("/tasks?due_before=2026-12-01T00:00:00Z")) == ["nov 30"]
    assert titles(
        alice.get("/tasks?due_after=2026-12-01T00:00:00Z&due_before=2026-12-02")
    ) == ["dec 1"]
    # An offset is honoured: 01:00+01:00 is midnight UTC.
    assert titles(
        alice.get("/tasks", query_string={"due_after": "2026-12-02T01:00:00+01:00"})
    ) == ["dec 2"]


def test_filters_combine(alice):
    alice.create(title="match", priority="high", tags=["work"], due_date="2026-12-05")
    alice.create(title="done", priority="high", tags=["work"], completed=True)
    alice.create(title="low", priority="low", tags=["work"], due_date="2026-12-05")
    alice.create(title="home", priority="high", tags=["home"], due_date="2026-12-05")

    response = alice.get(
        "/tasks?completed=false&priority=high&tag=work&q=MAT&due_after=2026-12-01"
        "&due_before=2027-01-01&sort=due_date"
    )

    assert titles(response) == ["match"]
    assert response.headers["X-Total-Count"] == "1"


def test_the_list_holds_only_the_users_own_live_tasks(users_on):
    alice, bob = users_on("alice"), users_on("bob")
    mine = alice.create(title="mine", tags=["home"])["id"]
    gone = alice.create(title="gone", tags=["home"])["id"]
    alice.delete(f"/tasks/{gone}")
    bob.create(title="bob's", tags=["home"])

    response = alice.get("/tasks?tag=home&q=&sort=title")

    assert ids(response) == [mine]
    assert response.headers["X-Total-Count"] == "1"


def test_unknown_parameters_are_ignored(alice):
    task = alice.create()["id"]

    assert ids(alice.get("/tasks?colour=red&page_size=1&_=123")) == [task]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=two", "page"),
        ("page=1.5", "page"),
        (f"page={10**20}", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=", "per_page"),
        ("completed=yes", "completed"),
        ("completed=1", "completed"),
        ("priority=critical", "priority"),
        ("priority=high&priority=", "priority"),
        ("tag=", "tag"),
        ("tag=" + "x" * 51, "tag"),
        ("tag=ok&tag=a%00b", "tag"),
        ("q=a%00b", "q"),
        ("search=a%00b", "search"),
        ("q=" + "x" * 2001, "q"),
        ("due_after=tomorrow", "due_after"),
        ("due_before=2026-13-01", "due_before"),
        ("due_before=2026-12-01T25:00:00Z", "due_before"),
        ("sort=colour", "sort"),
        ("sort=--title", "sort"),
        ("sort=Title", "sort"),
    ],
)
def test_a_bad_parameter_is_a_422_naming_it(alice, query, name):
    alice.create()

    response = alice.get(f"/tasks?{query}")

    body = assert_error(response, 422)
    assert body["detail"] == "Validation failed"
    assert list(body["errors"]["query"]) == [name]
    assert all(isinstance(m, str) for m in _messages(body["errors"]["query"][name]))


def _messages(messages):
    if isinstance(messages, dict):  # list fields key their messages by position
        return [m for inner in messages.values() for m in inner]
    return messages


# Headers -------------------------------------------------------------------------


def test_pagination_headers_on_a_middle_page(alice, app):
    for n in range(7):
        alice.create(title=f"t{n}", tags=["x"])

    response = alice.get("/tasks?tag=x&per_page=2&page=2&sort=title&colour=red")

    assert ids(response) and len(ids(response)) == 2
    assert response.headers["X-Total-Count"] == "7"
    assert pagination(response) == {
        "total": 7,
        "total_pages": 4,
        "first_page": 1,
        "last_page": 4,
        "page": 2,
        "previous_page": 1,
        "next_page": 3,
    }
    rels = links(response)
    assert list(rels) == ["first", "prev", "next", "last"]
    for rel, page in {"first": 1, "prev": 1, "next": 3, "last": 4}.items():
        url = urlsplit(rels[rel])
        assert (url.scheme, url.netloc) == ("http", "localhost")  # absolute
        assert url.path == f"{alice.prefix}/tasks"
        assert parse_qs(url.query) == {
            "tag": ["x"],
            "per_page": ["2"],
            "page": [str(page)],
            "sort": ["title"],
            "colour": ["red"],
        }


def test_first_and_last_pages_leave_out_what_does_not_apply(alice):
    for n in range(3):
        alice.create(title=f"t{n}")

    first = alice.get("/tasks?per_page=2")
    last = alice.get("/tasks?per_page=2&page=2")
    only = alice.get("/tasks")

    assert pagination(first) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 1,
        "next_page": 2,
    }
    assert list(links(first)) == ["first", "next", "last"]
    assert parse_qs(urlsplit(links(first)["next"]).query) == {
        "per_page": ["2"],
        "page": ["2"],
    }
    assert pagination(last) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 2,
        "previous_page": 1,
    }
    assert list(links(last)) == ["first", "prev", "last"]
    assert pagination(only) == {
        "total": 3,
        "total_pages": 1,
        "first_page": 1,
        "last_page": 1,
        "page": 1,
    }
    assert list(links(only)) == ["first", "last"]


def test_a_page_past_the_end_is_empty_but_still_counts(alice):
    for n in range(3):
        alice.create(title=f"t{n}")

    response = alice.get("/tasks?per_page=2&page=5")

    assert response.status_code == 200
    assert response.get_json() == []
    assert response.headers["X-Total-Count"] == "3"
    assert pagination(response) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
    }
    assert list(links(response)) == ["first", "last"]


def test_no_tasks_means_no_pages_and_no_links(alice):
    alice.create(title="other", priority="low")

    response = alice.get("/tasks?priority=urgent")

    assert response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"
    assert pagination(response) == {"total": 0, "total_pages": 0}
    assert "Link" not in response.headers


def test_links_keep_search_and_repeated_parameters(alice):
    for n in range(3):
        alice.create(title=f"50% off {n}", tags=["a", "b"], priority="high")

    response = alice.get(
        "/tasks",
        query_string=[
            ("search", "50% off"),
            ("tag", "a"),
            ("tag", "b"),
            ("priority", "high"),
            ("priority", "urgent"),
            ("per_page", "1"),
        ],
    )

    assert parse_qs(urlsplit(links(response)["next"]).query) == {
        "search": ["50% off"],
        "tag": ["a", "b"],
        "priority": ["high", "urgent"],
        "per_page": ["1"],
        "page": ["2"],
    }
    assert walk(alice, urlsplit(links(response)["first"]).query) == ids(
        alice.get("/tasks?q=50%25+off")
    )


def test_the_frontend_can_read_the_pagination_headers_across_origins(alice):
    alice.create()

    response = alice.get("/tasks", headers={"Origin": "http://localhost:3000"})

    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert {"link", "x-total-count", "x-pagination"} <= exposed_headers(response)


# Cost ----------------------------------------------------------------------------


@pytest.fixture
def statements(app):
    """The SQL statements run while the test runs."""
    with sent_statements(app) as sent:
        yield sent


def test_a_list_request_is_one_statement_whatever_the_page_size(alice, statements):
    for n in range(30):
        alice.create(title=f"t{n}", tags=["home", f"t{n}"], due_date="2026-12-01")
    filtered = "tag=home&q=t&sort=-due_date&completed=false&priority=medium"

    counts = {}
    for query in ("sort=title", filtered):
        for page, per_page in [(1, 1), (1, 30), (1, 100), (2, 20), (9, 50)]:
            statements.clear()
            response = alice.get(f"/tasks?{query}&page={page}&per_page={per_page}")
            assert response.status_code == 200
            assert response.headers["X-Total-Count"] == "30"
            counts[(query, page, per_page)] = len(statements)

    assert set(counts.values()) == {1}, counts


@pytest.mark.postgres_only
def test_tag_filter_uses_jsonb_containment_on_postgres(alice, statements):
    alice.create(tags=["home"])

    alice.get("/tasks?tag=home")

    assert "@>" in statements[-1]


def test_every_filter_of_the_query_schema_has_its_condition():
    assert set(FILTERS) == set(TaskQuerySchema.filter_names())
    check_filters()  # what importing the listing does


def test_a_filter_added_to_the_schema_without_a_condition_stops_the_start():
    class WithOverdue(TaskQuerySchema):
        overdue = fields.Boolean()

    with pytest.raises(RuntimeError, match="WithOverdue filters with no condition"):
        check_filters(WithOverdue)
