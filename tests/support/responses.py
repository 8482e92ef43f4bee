"""Assertions on answers: the contract's JSON error body, a 401 with its Bearer
challenge, the headers CORS exposes, the security headers every answer carries."""


def assert_error(response, status, title=None):
    """The contract's JSON error body, with this status (and title, if given);
    returns the body. Works on test-client and LiveServer responses."""
    assert response.status_code == status, response.data[:300]
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    if title is not None:
        assert body["title"] == title
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_unauthorized(response):
    """A 401 error body with a Bearer challenge; returns the body."""
    body = assert_error(response, 401, "Unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return body


def exposed_headers(response) -> set:
    """The header names CORS lets a browser read, lower case."""
    header = response.headers["Access-Control-Expose-Headers"]
    return {name.strip().lower() for name in header.split(",")}


JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_security_headers(response, *, api):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Security-Policy"] == JSON_CSP
    if api:
        assert headers["Cache-Control"] == "no-store"
