"""A bad item in a list (a tag in a body, a repeated query parameter) is a 422
that says which item, never a 500."""

from tests.support.responses import assert_error


def test_a_bad_tag_in_a_body_is_a_422_naming_its_position(alice):
    response = alice.post("/tasks", json={"title": "x", "tags": ["ok", ""]})

    assert list(assert_error(response, 422)["errors"]["json"]["tags"]) == ["1"]


def test_a_bad_repeated_query_parameter_is_a_422_naming_its_position(alice):
    response = alice.get("/tasks?priority=high&priority=critical")

    assert list(assert_error(response, 422)["errors"]["query"]["priority"]) == ["1"]
