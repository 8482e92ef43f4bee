"""A hostile-input corpus: whatever arrives, the answer is a 4xx JSON error (or the
documented success), never a 500, and nothing changes.

tests/core/test_bad_input.py covers the field-by-field validation of POST, NUL, invalid
JSON and UTF-8, 5,000-level nesting, numbers past 64 bits, 10k strings, content
types and the 1 MiB limit; this file adds what a fuzzer or an attacker tries next.
"""

import contextlib
import http.client
import json
import urllib.parse

import pytest
from werkzeug.datastructures import Headers

from tests.support.responses import assert_error
from tests.support.servers import LiveResponse
from tests.support.users import User, bearer, make_token, new_user_id

JSON = {"Content-Type": "application/json"}


def assert_4xx(response):
    assert 400 <= response.status_code < 500, response.data[:300]
    return assert_error(response, response.status_code)


# Text: what is allowed, what is not ------------------------------------------------


def test_control_characters_other_than_nul_are_kept_as_text(alice):
    """Tabs and newlines are ordinary in a description; other C0/C1 controls, bidi
    overrides and U+2028 are text too: the API stores them and JSON escapes them."""
    description = "line 1\nline 2\r\n\tindented \x01\x1b[31m\x7f\x85 \u202e\u2028\ufeff"
    task = alice.create(title="\ttabbed\ttitle\n", description=description)
    assert task["title"] == "tabbed\ttitle"  # surrounding white space is stripped
    assert task["description"] == description
    assert alice.get(f"/tasks/{task['id']}").get_json()["description"] == description


@pytest.mark.parametrize("escape", [r"\ud800", r"\udfff", r"x\ud83dy"])
def test_lone_surrogates_are_400_in_every_write(alice, escape):
    task = alice.create()
    text = f'"{escape}"'
    bodies = [
        ("POST", "/tasks", '{"title": "ok", "description": ' + text + "}"),
        ("POST", "/tasks", '{"title": "ok", "tags": [' + text + "]}"),
        ("PUT", f"/tasks/{task['id']}", '{"title": ' + text + "}"),
        ("PATCH", f"/tasks/{task['id']}", '{"priority": ' + text + "}"),
        ("PATCH", f"/tasks/{task['id']}/complete", '{"completed": ' + text + "}"),
    ]
    for method, path, raw in bodies:
        assert_error(alice.request(method, path, data=raw, headers=JSON), 400)
    assert alice.get("/tasks").get_json() == [task]


def test_a_surrogate_pair_escape_is_one_emoji(alice):
    response = alice.post("/tasks", data=r'{"title": "\ud83d\ude00"}', headers=JSON)
    assert response.status_code == 201
    assert response.get_json()["title"] == "\U0001f600"


def test_a_byte_order_mark_before_the_json_is_400(alice):
    raw = b"\xef\xbb\xbf" + json.dumps({"title": "x"}).encode()
    assert_error(alice.post("/tasks", data=raw, headers=JSON), 400)
    assert alice.get("/tasks").get_json() == []


def test_a_duplicated_key_in_a_body_means_its_last_value(alice):
    response = alice.post("/tasks", data='{"title": "a", "title": "b"}', headers=JSON)
    assert response.get_json()["title"] == "b"


def test_10k_strings_are_422_in_updates_and_tags(alice):
    task = alice.create()
    long = "x" * 10_000
    for body in ({"title": long}, {"description": long}, {"tags": [long]}):
        assert_error(alice.patch(f"/tasks/{task['id']}", json=body), 422)
    assert_error(alice.post("/tasks", json={"title": "ok", "priority": long}), 422)
    assert_error(alice.post("/tasks", json={"title": "ok", "due_date": long}), 422)
    assert_error(
        alice.post("/tasks", json={"title": "ok", "tags": ["t"] * 10_000}), 422
    )
    assert alice.get("/tasks").get_json() == [task]


# Wrong JSON types everywhere ---------------------------------------------------------

WRONG_VALUES = {
    "title": [1, 1.5, True, [], {}, ["x"], {"x": 1}],
    "description": [1, -1.5, False, [], {}, ["x"]],
    "completed": [0, 1, "true", "false", [], {}, 0.0],
    "priority": [1, True, [], {}, ["high"], {"high": 1}],
    "due_date": [0, 1767225600, True, [], {}, ["2026-12-01"]],
    "tags": ["home", 1, True, {}, {"home": 1}, [1], [None], [[]], [{}]],
}
CASES = [(field, value) for field, values in WRONG_VALUES.items() for value in values]


@pytest.mark.parametrize("field, value", CASES)
def test_wrong_types_in_updates_are_422_naming_the_field(alice, field, value):
    task = alice.create()
    for method in ("PUT", "PATCH"):
        response = alice.request(method, f"/tasks/{task['id']}", json={field: value})
        assert field in assert_error(response, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


@pytest.mark.parametrize("value", [0, 1, "true", None, [], {}, [True]])
def test_wrong_types_for_completion_are_422(alice, value):
    task = alice.create()
    response = alice.patch(f"/tasks/{task['id']}/complete", json={"completed": value})
    assert "completed" in assert_error(response, 422)["errors"]["json"]
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


@pytest.mark.parametrize("raw", [b"[]", b"[{}]", b'[{"title": "x"}]', b'"x"', b"1"])
def test_arrays_and_scalars_where_objects_go_are_422_in_every_write(alice, raw):
    task = alice.create()
    for method, path in (
        ("PUT", f"/tasks/{task['id']}"),
        ("PATCH", f"/tasks/{task['id']}"),
        ("PATCH", f"/tasks/{task['id']}/complete"),
    ):
        assert_error(alice.request(method, path, data=raw, headers=JSON), 422)
    assert alice.get("/tasks").get_json() == [task]


def test_deep_nesting_inside_a_field_is_refused(alice):
    task = alice.create()
    deep = "[" * 5000 + "]" * 5000
    for raw in (
        '{"tags": ' + deep + "}",
        '{"title": "x", "description": ' + deep + "}",
    ):
        response = alice.patch(f"/tasks/{task['id']}", data=raw, headers=JSON)
        assert_error(response, 400)
    shallow = "[" * 50 + "]" * 50  # valid JSON, wrong type
    raw = '{"tags": ' + shallow + "}"
    response = alice.patch(f"/tasks/{task['id']}", data=raw, headers=JSON)
    assert_error(response, 422)
    assert alice.get("/tasks").get_json() == [task]


# Bodies over the limit, chunked ---------------------------------------------------


def test_a_chunked_body_over_the_limit_is_413(alice):
    """No Content-Length: the limit is enforced while reading the stream."""
    big = json.dumps({"title": "x", "description": "y" * (2 * 1024 * 1024)}).encode()
    response = alice.post(
        "/tasks",
        data=big,
        headers={**JSON, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert_error(response, 413)
    assert alice.get("/tasks").get_json() == []


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(alice):
    head, tail = b'{"title": "x", "description": "', b'"}'
    exact = head + b"y" * (1024 * 1024 - len(head) - len(tail)) + tail
    assert len(exact) == 1024 * 1024
    response = alice.post(
        "/tasks",
        data=exact,
        headers={**JSON, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert "description" in assert_error(response, 422)["errors"]["json"]  # too long


def chunked_post(base_url, path, token, body: bytes):
    url = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    try:
        # the server may answer (413) and close before the body ends
        with contextlib.suppress(BrokenPipeError):
            connection.request(
                "POST",
                path,
                body=chunks,
                headers={**JSON, **bearer(token)},
                encode_chunked=True,
            )
        response = connection.getresponse()
        return LiveResponse(
            response.status, Headers(response.getheaders()), response.read()
        )
    finally:
        connection.close()


def test_chunked_bodies_through_gunicorn(gunicorn_url, client):
    user_id = new_user_id("chunky")
    token = make_token(user_id)
    small = json.dumps({"title": "sent in chunks"}).encode()
    response = chunked_post(gunicorn_url, "/api/tasks", token, small)
    assert response.status_code == 201
    assert response.get_json()["title"] == "sent in chunks"

    big = json.dumps({"title": "x", "description": "y" * (2 * 1024 * 1024)}).encode()
    assert_error(chunked_post(gunicorn_url, "/api/tasks", token, big), 413)
    titles = [
        t["title"] for t in User(client, user_id, "/api").get("/tasks").get_json()
    ]
    assert titles == ["sent in chunks"]


# Query strings ----------------------------------------------------------------------


def test_a_duplicated_query_parameter_means_its_first_value(alice):
    for _ in range(3):
        alice.create()
    response = alice.get("/tasks?per_page=1&per_page=100&page=2&page=1")
    assert response.status_code == 200
    assert len(response.get_json()) == 1
    assert_error(alice.get("/tasks?page=abc&page=1"), 422)
    assert alice.get("/tasks?page=1&page=abc").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "page=1;DROP TABLE tasks",
        "page=1 OR 1=1",
        "per_page=1)--",
        "page=%ff%fe",
        "page=%00",
        "per_page=1e400",
        "page=0x10",
        "page=%E2%91%A0",  # a circled digit one: not an ASCII digit
    ],
)
def test_sql_in_paging_parameters_is_422(alice, query):
    task = alice.create()
    assert_error(alice.get(f"/tasks?{query}"), 422)
    assert alice.get("/tasks").get_json() == [task]


@pytest.mark.parametrize(
    "query",
    [
        "q=%25",
        "q=_",
        "q=%5C",
        "q=%25%27%20OR%20%271%27%3D%271",
        "search=%27%3B%20DROP%20TABLE%20tasks%3B%20--",
        "sort=title%3BDROP%20TABLE%20tasks",
        "tag=%25&tag=_",
        "completed=1%20OR%201%3D1",
        "q=" + "%25" * 5000,
        "q=%00",
    ],
)
def test_sql_and_like_wildcards_in_query_parameters_never_break_out(alice, bob, query):
    """Whatever the listing makes of them (a filter, a 422, or ignored), they are
    parameters, never SQL: no 500, no one else's tasks, nothing changed."""
    mine, theirs = alice.create(title="100% _done_ \\o/"), bob.create()
    response = alice.get(f"/tasks?{query}")
    if response.status_code == 200:
        ids = {task["id"] for task in response.get_json()}
        assert ids <= {mine["id"]}
    else:
        assert_error(response, 422)
    assert alice.get("/tasks").get_json() == [mine]
    assert bob.get("/tasks").get_json() == [theirs]


# Dates at the ends of the calendar ---------------------------------------------------
# Python's datetime stops at year 9999 and starts at year 1: arithmetic past either
# end is a 422 naming the parameter, never an OverflowError.

END = "9999-12-31T23:00:00Z"


@pytest.mark.parametrize(
    "query, field",
    [
        (f"after={END}", "after"),  # the default window would end in year 10000
        ("after=9999-12-31", "after"),
        ("after=9999-12-31T23:59:59-23:59", "after"),  # year 10000 in UTC
        ("before=0001-01-01T00:00:00%2B23:59", "before"),  # year 0 in UTC
    ],
)
def test_a_reminders_window_past_the_calendar_is_422_naming_it(alice, query, field):
    body = assert_error(alice.get(f"/reminders?{query}"), 422)
    assert list(body["errors"]["query"]) == [field]


def test_a_reminders_window_at_the_end_of_the_calendar_is_served(alice):
    task = alice.create(title="Last call", reminders=[{"at": "9999-12-31T23:30:00Z"}])
    response = alice.get(f"/reminders?after={END}&before=9999-12-31T23:59:59Z")
    assert response.status_code == 200
    assert [r["task_id"] for r in response.get_json()] == [task["id"]]


@pytest.mark.parametrize(
    "query",
    ["due_after=9999-12-31T23:59:59-23:59", "due_before=0001-01-01T00:00%2B01:00"],
)
def test_a_due_date_filter_past_the_calendar_is_422(alice, query):
    body = assert_error(alice.get(f"/tasks?{query}"), 422)
    assert list(body["errors"]["query"]) == [query.partition("=")[0]]


def test_a_reminder_before_year_1_is_422_and_creates_nothing(alice):
    body = {
        "title": "x",
        "due_date": "0001-01-01T09:00:00Z",
        "reminders": [{"before": "P1D"}],
    }
    response = alice.post("/tasks", json=body)
    assert list(assert_error(response, 422)["errors"]["json"]) == ["reminders"]
    assert alice.get("/tasks").get_json() == []


def test_a_series_at_the_end_of_the_calendar_completes_without_a_next_one(alice):
    task = alice.create(
        title="Daily",
        due_date="9999-12-31T09:00:00Z",
        recurrence={"rule": "FREQ=DAILY"},
        reminders=[{"before": "P30D"}],
    )
    response = alice.patch(f"/tasks/{task['id']}/complete", json={"completed": True})
    assert response.status_code == 200
    assert response.get_json()["next_task_id"] is None


# Paths ---------------------------------------------------------------------------


def test_dot_segments_never_reach_another_users_tasks(client, alice, bob):
    theirs = bob.create()
    for path in (
        f"/api/{alice.id}/../{bob.id}/tasks",
        f"/api/{alice.id}/%2e%2e/{bob.id}/tasks",
        "/api/../tasks",
        "/api/%2e%2e/tasks",
        "/api/./tasks/../tasks",
        f"/api/tasks/{theirs['id']}/..",
        f"/api/tasks/%2e%2e/tasks/{theirs['id']}",
        f"/api/{bob.id}%2f..%2f{alice.id}/tasks",
    ):
        response = client.get(path, headers=alice.headers)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert_error(response, response.status_code)
    assert bob.get("/tasks").get_json() == [theirs]


def test_an_encoded_slash_in_a_user_id_is_not_a_way_in(client):
    """PATH_INFO arrives decoded, so `a%2Fb` is two segments: such a user uses the
    token-only routes (/api/tasks), which need no id in the path."""
    user = User(client, "team/a", prefix="/api")
    task = user.create()
    assert_error(client.get("/api/team%2Fa/tasks", headers=user.headers), 404)
    assert user.get("/tasks").get_json() == [task]


@pytest.mark.parametrize("length", [256, 10_000])
def test_very_long_path_segments_are_4xx(client, alice, length):
    task = alice.create()
    long = "a" * length
    assert_error(client.get(f"/api/{long}/tasks", headers=alice.headers), 403)
    assert_error(alice.get(f"/tasks/{long}"), 404)
    assert_error(alice.patch(f"/tasks/{task['id']}{long}", json={"title": "x"}), 404)
    assert_error(alice.delete(f"/tasks/{long}"), 404)
    assert alice.get("/tasks").get_json() == [task]


@pytest.mark.parametrize(
    "task_id",
    [
        "%00",
        "%ff",
        "..%2f..%2f",
        "'%20OR%201=1",
        "00000000-0000-0000-0000-00000000000g",
    ],
)
def test_task_ids_that_are_not_uuids_are_404(alice, task_id):
    assert_error(alice.get(f"/tasks/{task_id}"), 404)
    assert_error(alice.delete(f"/tasks/{task_id}"), 404)


# Headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "incoming",
    [
        "r" * 129,
        "r" * 100_000,
        "abc\r\nSet-Cookie: session=stolen",
        "abc\nX-Injected: 1",
        "abc%0d%0aSet-Cookie:%20x",
        "<script>alert(1)</script>",
        "",
    ],
)
def test_request_ids_that_are_not_safe_are_replaced(alice, incoming):
    response = alice.get("/tasks", environ_overrides={"HTTP_X_REQUEST_ID": incoming})
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert request_id != incoming and 1 <= len(request_id) <= 128
    assert request_id.isalnum()
    assert "Set-Cookie" not in response.headers
    assert "X-Injected" not in response.headers


def test_header_values_with_line_breaks_never_split_the_response(client, alice):
    for name in ("HTTP_AUTHORIZATION", "HTTP_ORIGIN", "HTTP_CONTENT_TYPE"):
        response = client.get(
            "/api/tasks",
            environ_overrides={name: f"Bearer {alice.token}\r\nSet-Cookie: x=1"},
        )
        assert response.status_code in (200, 401)
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=latin-1",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "json",
        "*/*",
        "application/json\x00",
        "a" * 10_000,
    ],
)
def test_odd_content_types_are_4xx(alice, content_type):
    response = alice.post(
        "/tasks",
        data=b'{"title": "x"}',
        environ_overrides={"CONTENT_TYPE": content_type},
    )
    if response.status_code == 201:  # a JSON media type with a parameter
        assert content_type.startswith("application/json;")
        return
    assert_error(response, 415)
    assert alice.get("/tasks").get_json() == []
