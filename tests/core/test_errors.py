"""Every error is JSON with status, title and detail; never HTML, never a traceback."""

import pytest

from taskapi import create_app
from tests.support.responses import assert_error


@pytest.mark.parametrize(
    "path",
    ["/", "/nope", "/api", "/api/", "/api/tasks/", "/api/x/y/z/tasks", "/static/x"],
)
def test_unknown_routes_are_json_404(client, alice, path):
    assert "errors" not in assert_error(client.get(path, headers=alice.headers), 404)


def test_methods_not_allowed_are_json_405_with_allow(client, alice):
    task = alice.create()
    for method, path in [
        ("DELETE", "/api/tasks"),
        ("PUT", "/api/tasks"),
        ("POST", f"/api/tasks/{task['id']}"),
        ("GET", f"/api/tasks/{task['id']}/complete"),
        ("POST", "/health"),
    ]:
        response = client.open(path, method=method, headers=alice.headers)
        assert "errors" not in assert_error(response, 405)
        assert response.headers["Allow"]


@pytest.fixture
def app_with_a_broken_view(config_class):
    class Config(config_class):
        PROPAGATE_EXCEPTIONS = False  # answer as in production, not raise into the test

    app = create_app(Config)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_unexpected_errors_are_500_saying_nothing_internal(
    app_with_a_broken_view, caplog
):
    client = app_with_a_broken_view.test_client()
    response = client.get("/boom", headers={"X-Request-ID": "req-123"})

    body = assert_error(response, 500)
    assert "errors" not in body
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert "req-123" in body["detail"]
    assert response.headers["X-Request-ID"] == "req-123"


@pytest.fixture
def app_without_a_database(config_class, tmp_path):
    class Unreachable(config_class):
        def __init__(self, instance_path="instance"):
            super().__init__(instance_path)
            if self.SQLALCHEMY_DATABASE_URI.startswith("postgres"):
                self.SQLALCHEMY_DATABASE_URI = (
                    "postgresql+psycopg2://nobody@127.0.0.1:9/none"
                )
            else:
                self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/missing/dir/x.db"

    return create_app(Unreachable)


def test_an_unreachable_database_is_503_with_retry_after(app_without_a_database, alice):
    client = app_without_a_database.test_client()
    response = client.get("/api/tasks", headers=alice.headers)
    assert "errors" not in assert_error(response, 503)
    assert int(response.headers["Retry-After"]) > 0

    assert (
        client.get("/health").status_code == 200
    )  # liveness does not need the database


def test_the_other_apps_in_the_process_are_unaffected(app_without_a_database, alice):
    assert alice.get("/tasks").status_code == 200
