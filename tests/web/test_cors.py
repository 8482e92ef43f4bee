"""A browser frontend on another origin can call the API and read its answers."""

from tests.support.responses import exposed_headers

ALLOWED = "http://localhost:3000"


def preflight(client, origin, method="POST", headers="authorization, content-type"):
    return client.options(
        "/api/tasks",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_needs_no_token_and_allows_the_contract_headers(client):
    response = preflight(
        client,
        ALLOWED,
        headers="authorization, content-type, if-match, if-none-match, idempotency-key",
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in (
        "authorization",
        "content-type",
        "if-match",
        "if-none-match",
        "idempotency-key",
    ):
        assert header in allowed
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]


def test_preflight_on_a_task_route_with_a_user_path(client, alice):
    response = client.options(
        f"/api/{alice.id}/tasks/0b9c2c1e-4f7e-4e54-9a39-5a2f8a1d6c11/complete",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "PATCH"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_responses_expose_the_contract_headers(alice):
    response = alice.post("/tasks", json={"title": "x"}, headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert {
        "etag",
        "location",
        "link",
        "x-total-count",
        "x-pagination",
        "x-request-id",
    } <= exposed_headers(response)


def test_error_responses_carry_cors_headers_too(client, alice, bob):
    unauthorized = client.get("/api/tasks", headers={"Origin": ALLOWED})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert (
        "x-request-id" in unauthorized.headers["Access-Control-Expose-Headers"].lower()
    )

    invalid = alice.post("/tasks", json={}, headers={"Origin": ALLOWED})
    assert invalid.status_code == 422
    assert invalid.headers["Access-Control-Allow-Origin"] == ALLOWED

    forbidden = client.get(
        f"/api/{bob.id}/tasks", headers={**alice.headers, "Origin": ALLOWED}
    )
    assert forbidden.status_code == 403
    assert forbidden.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_an_origin_not_allowed_never_gets_allow_origin(client, alice):
    for origin in ("https://evil.example", "http://localhost:3001", "null"):
        assert "Access-Control-Allow-Origin" not in preflight(client, origin).headers
        response = alice.get("/tasks", headers={"Origin": origin})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers
        denied = client.get("/api/tasks", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in denied.headers


def test_cors_headers_only_answer_an_origin_and_vary_on_it(client, alice):
    without_origin = alice.get("/tasks")
    assert "Access-Control-Allow-Origin" not in without_origin.headers
    assert "Origin" in without_origin.headers["Vary"]
    with_origin = alice.get("/tasks", headers={"Origin": ALLOWED})
    assert with_origin.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in with_origin.headers["Vary"]
    assert "Origin" in client.get("/health").headers["Vary"]
