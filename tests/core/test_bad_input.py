"""Bad input of any kind gets a clear 4xx JSON error and changes nothing."""

import json

import pytest

from tests.support.responses import assert_error

VALID = {"title": "ok"}


def field_errors(response, location="json"):
    body = assert_error(response, 422)
    assert body["detail"] == "Validation failed"
    return body["errors"][location]


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({}, "title", "Missing data for required field."),
        ({"title": ""}, "title", "Length must be between 1 and 200."),
        ({"title": "   "}, "title", "Length must be between 1 and 200."),
        ({"title": "x" * 201}, "title", "Length must be between 1 and 200."),
        ({"title": None}, "title", "Field may not be null."),
        ({"title": 5}, "title", "Not a valid string."),
        ({"title": ["a"]}, "title", "Not a valid string."),
        ({"title": {"a": 1}}, "title", "Not a valid string."),
        ({"title": "ok", "description": "x" * 2001}, "description", None),
        ({"title": "ok", "description": 1}, "description", "Not a valid string."),
        ({"title": "ok", "priority": "critical"}, "priority", None),
        ({"title": "ok", "priority": None}, "priority", "Field may not be null."),
        ({"title": "ok", "priority": 2}, "priority", "Not a valid string."),
        ({"title": "ok", "completed": "true"}, "completed", "Not a valid boolean."),
        ({"title": "ok", "completed": 1}, "completed", "Not a valid boolean."),
        ({"title": "ok", "completed": None}, "completed", "Field may not be null."),
        ({"title": "ok", "due_date": "tomorrow"}, "due_date", None),
        ({"title": "ok", "due_date": "2026-13-01"}, "due_date", None),
        ({"title": "ok", "due_date": "2026-02-30T10:00:00Z"}, "due_date", None),
        ({"title": "ok", "due_date": "2026-12-01T25:00:00Z"}, "due_date", None),
        ({"title": "ok", "due_date": "0001-01-01T00:00:00+01:00"}, "due_date", None),
        ({"title": "ok", "due_date": "20261201"}, "due_date", None),
        ({"title": "ok", "due_date": 1767225600}, "due_date", None),
        ({"title": "ok", "tags": "home"}, "tags", "Not a valid list."),
        ({"title": "ok", "tags": [""]}, "tags", None),
        ({"title": "ok", "tags": ["  "]}, "tags", None),
        ({"title": "ok", "tags": ["x" * 51]}, "tags", None),
        ({"title": "ok", "tags": [1]}, "tags", None),
        ({"title": "ok", "tags": [f"t{n}" for n in range(21)]}, "tags", None),
    ],
)
def test_invalid_fields_are_422_naming_the_field(alice, body, field, message):
    errors = field_errors(alice.post("/tasks", json=body))
    assert field in errors
    if message:
        assert message in str(errors[field])
    assert alice.get("/tasks").get_json() == []


@pytest.mark.parametrize("field", ["title", "description", "priority", "due_date"])
def test_nul_characters_are_refused_in_every_string(alice, field):
    body = {"title": "ok", field: "bad\x00value"}
    assert field in field_errors(alice.post("/tasks", json=body))


def test_nul_characters_are_refused_in_tags_and_updates(alice):
    assert "tags" in field_errors(
        alice.post("/tasks", json={**VALID, "tags": ["a\x00"]})
    )
    task = alice.create()
    response = alice.patch(f"/tasks/{task['id']}", json={"title": "\x00"})
    assert "title" in field_errors(response)
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


def test_any_unicode_is_fine(alice):
    text = "Ünïcödé ✓ 日本語 🧪🐍 \u200d\U0001f469\u200d\U0001f4bb"
    task = alice.create(title=text, description=text, tags=[text[:10]])
    assert task["title"] == text
    assert task["description"] == text


def test_unknown_and_read_only_fields_are_refused(alice):
    assert "colour" in field_errors(
        alice.post("/tasks", json={**VALID, "colour": "red"})
    )
    for field in ("id", "user_id", "created_at", "updated_at", "completed_at"):
        errors = field_errors(alice.post("/tasks", json={**VALID, field: "x"}))
        assert field in errors
    task = alice.create()
    for field in ("id", "user_id", "created_at", "updated_at", "completed_at", "x"):
        response = alice.put(f"/tasks/{task['id']}", json={field: "x"})
        assert field in field_errors(response)
    assert alice.get(f"/tasks/{task['id']}").get_json() == task
    assert alice.get("/tasks").get_json() == [task]


def test_updates_refuse_nulls_where_a_value_is_required(alice):
    task = alice.create()
    for field in ("title", "completed", "priority"):
        response = alice.patch(f"/tasks/{task['id']}", json={field: None})
        assert field in field_errors(response)
    assert "completed" in field_errors(
        alice.patch(f"/tasks/{task['id']}/complete", json={"completed": None})
    )
    assert "completed" in field_errors(
        alice.patch(f"/tasks/{task['id']}/complete", json={"completed": "yes"})
    )
    assert alice.get(f"/tasks/{task['id']}").get_json() == task


@pytest.mark.parametrize(
    "raw", [b"[]", b'[{"title": "x"}]', b'"title"', b"42", b"true", b"null"]
)
def test_valid_json_that_is_not_an_object_is_422(alice, raw):
    response = alice.post(
        "/tasks", data=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422)
    assert "json" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'title': 'x'}",
        b'{"title": "x",}',
        b"\xff\xfe{}",
        b'{"title": "\xc3\x28"}',  # invalid UTF-8
        b'{"title": "\\ud800"}',  # lone surrogate
        b"[" * 5000 + b"]" * 5000,  # 5,000 levels deep
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b"NaN",
    ],
)
def test_bodies_that_are_not_valid_json_are_400(alice, raw):
    response = alice.post(
        "/tasks", data=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)
    assert alice.get("/tasks").get_json() == []


@pytest.mark.parametrize(
    "number", [b"123456789012345678901234567890", b"1e400", b"-1e400"]
)
def test_numbers_beyond_64_bits_are_4xx(alice, number):
    for raw in (b'{"title": %s}' % number, b'{"title": "x", "completed": %s}' % number):
        response = alice.post(
            "/tasks", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), response.data
        assert_error(response, response.status_code)
    assert alice.get("/tasks").get_json() == []


def test_an_empty_body_where_one_is_expected_is_400(alice):
    task = alice.create()
    json_type = {"Content-Type": "application/json"}
    assert_error(alice.post("/tasks", data=b"", headers=json_type), 400)
    assert_error(alice.put(f"/tasks/{task['id']}", data=b"", headers=json_type), 400)
    assert_error(alice.patch(f"/tasks/{task['id']}", data=b"", headers=json_type), 400)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "text/json"],
)
def test_bodies_that_are_not_declared_json_are_415(alice, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    task = alice.create()
    data = json.dumps(VALID)
    assert_error(alice.post("/tasks", data=data, headers=headers), 415)
    assert_error(alice.put(f"/tasks/{task['id']}", data=data, headers=headers), 415)
    assert_error(alice.patch(f"/tasks/{task['id']}", data=data, headers=headers), 415)
    complete = json.dumps({"completed": True})
    assert_error(
        alice.patch(f"/tasks/{task['id']}/complete", data=complete, headers=headers),
        415,
    )
    assert alice.get("/tasks").get_json() == [task]


def test_json_with_a_charset_is_json(alice):
    response = alice.post(
        "/tasks",
        data=json.dumps(VALID).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_bodies_over_one_mebibyte_are_413(alice):
    big = json.dumps({"title": "x", "description": "y" * (1024 * 1024)})
    response = alice.post(
        "/tasks", data=big, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413)
    assert alice.get("/tasks").get_json() == []


def test_over_long_strings_are_422_not_500(alice):
    errors = field_errors(
        alice.post("/tasks", json={"title": "t" * 10_000, "description": "d" * 10_000})
    )
    assert set(errors) == {"title", "description"}


@pytest.mark.parametrize(
    "query, name",
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        (f"page={10**20}", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
        ("per_page=", "per_page"),
    ],
)
def test_bad_query_parameters_are_422_naming_them(alice, query, name):
    errors = field_errors(alice.get(f"/tasks?{query}"), location="query")
    assert name in errors


def test_unknown_query_parameters_are_ignored(alice):
    alice.create()
    response = alice.get("/tasks?colour=red&page=1&per_page=100")
    assert response.status_code == 200
    assert len(response.get_json()) == 1


def test_a_content_type_without_a_body_is_ignored(alice):
    task = alice.create()
    json_type = {"Content-Type": "application/json"}
    assert alice.get("/tasks", headers=json_type).status_code == 200
    assert alice.get(f"/tasks/{task['id']}", headers=json_type).status_code == 200
    assert (
        alice.patch(f"/tasks/{task['id']}/complete", headers=json_type).status_code
        == 200
    )
    assert alice.delete(f"/tasks/{task['id']}", headers=json_type).status_code == 204
