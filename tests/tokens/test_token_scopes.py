"""Each scope against each route family and method: a route's declared scope
(core/routes.py) is what an access token needs, checked in the one before_request
hook (auth/bearer.py); no /api or /mcp route escapes a declaration; the OpenAPI
document shows each operation's scheme and scope."""

import re
import uuid

import pytest

from taskapi.core.routes import SIGN_IN_ONLY, required_scope
from tests.support.responses import assert_error
from tests.support.tokens import create_access_token, with_access_token

SCOPES = ("tasks:read", "tasks:write", "webhooks", "mcp")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def protected_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api", "/mcp"))
    ]


def test_every_api_and_mcp_route_declares_the_scope_it_needs(app):
    undeclared = [
        f"{method} {rule.rule}"
        for rule in protected_rules(app)
        for method in sorted(rule.methods - {"OPTIONS", "HEAD"})
        if required_scope(app, rule.endpoint, method) is None
    ]
    assert protected_rules(app) and undeclared == []


def expected_scope(path: str, method: str) -> str | None:
    """The contract's table: None where no access token is accepted."""
    if "/tokens" in path or path.endswith("/account"):  # sign-in tokens only
        return None
    if path.startswith("/mcp"):
        return "mcp"
    if "/webhooks" in path:
        return "webhooks"
    return "tasks:read" if method == "GET" else "tasks:write"


# Shared lists (sharing/): reads need tasks:read, the rest tasks:write, as the
# lists they belong to; written out so that a route going missing is seen too.
SHARING_SCOPES = {
    ("GET", "/lists/<list_id>/invitations"): "tasks:read",
    ("POST", "/lists/<list_id>/invitations"): "tasks:write",
    ("DELETE", "/lists/<list_id>/invitations/<invitation_id>"): "tasks:write",
    ("POST", "/invitations/accept"): "tasks:write",
    ("GET", "/lists/<list_id>/members"): "tasks:read",
    ("PATCH", "/lists/<list_id>/members/<member_id>"): "tasks:write",
    ("DELETE", "/lists/<list_id>/members/<member_id>"): "tasks:write",
}


# Calendar feeds (calendars/): the same, as the tasks they show. The documents
# (/calendar/<secret>.ics) are outside /api and take no token at all.
CALENDAR_SCOPES = {
    ("GET", "/calendar-feeds"): "tasks:read",
    ("POST", "/calendar-feeds"): "tasks:write",
    ("DELETE", "/calendar-feeds/<feed_id>"): "tasks:write",
}


# Quick add (quickadd/): a write, as POST /tasks, preview included.
QUICK_ADD_SCOPES = {("POST", "/tasks/quick"): "tasks:write"}


# Your data (portability/): the export reads, the import writes.
PORTABILITY_SCOPES = {
    ("GET", "/export"): "tasks:read",
    ("POST", "/import"): "tasks:write",
}


def family(rule) -> str:
    return "user path" if rule.rule.startswith("/api/<user_id>/") else "token only"


# Each blueprint's routes, written out, so that a route going missing is seen too.
DOMAIN_SCOPES = {
    "sharing": SHARING_SCOPES,
    "calendar_feeds": CALENDAR_SCOPES,
    "quickadd": QUICK_ADD_SCOPES,
    "portability": PORTABILITY_SCOPES,
}


@pytest.mark.parametrize("blueprint", DOMAIN_SCOPES)
def test_each_domains_routes_declare_the_contracts_scopes(app, blueprint):
    declared = {
        (method, re.sub(r"^/api(/<user_id>)?", "", rule.rule), family(rule)): scope
        for rule in protected_rules(app)
        if rule.endpoint.startswith(f"{blueprint}.")
        for method in rule.methods - {"OPTIONS", "HEAD"}
        if (scope := required_scope(app, rule.endpoint, method))
    }
    assert declared == {
        (method, path, routes): scope
        for (method, path), scope in DOMAIN_SCOPES[blueprint].items()
        for routes in ("user path", "token only")
    }
    for (method, path), scope in DOMAIN_SCOPES[blueprint].items():
        assert expected_scope(path, method) == scope


def routes(app):
    """(method, rule) of every /api and /mcp operation."""
    return sorted(
        (method, rule.rule)
        for rule in protected_rules(app)
        for method in rule.methods - {"OPTIONS", "HEAD"}
    )


def test_the_declared_scopes_are_the_contracts(app):
    for rule in protected_rules(app):
        for method in rule.methods - {"OPTIONS", "HEAD"}:
            declared = required_scope(app, rule.endpoint, method)
            wanted = expected_scope(rule.rule, method)
            assert declared == (wanted or SIGN_IN_ONLY), (method, rule.rule)


def concrete(rule: str, user_id: str) -> str:
    path = rule.replace("<user_id>", user_id)
    return re.sub(r"<[^>]+>", str(uuid.uuid4()), path)


@pytest.fixture(scope="module")
def all_routes(app):
    return routes(app)


@pytest.mark.parametrize("scope", SCOPES)
def test_each_scope_against_each_route_and_method(app, alice, all_routes, scope):
    token = create_access_token(alice, [scope])["token"]
    granted = {scope, "tasks:read"} if scope == "tasks:write" else {scope}
    script = with_access_token(alice, token, "")
    for method, rule in all_routes:
        path = concrete(rule, alice.id)
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"} if rule == "/mcp" else {}
        response = script.request(method, path, json=body)
        needed = expected_scope(rule, method)
        where = f"{scope}: {method} {path} -> {response.status_code}"
        if needed is not None and needed in granted:
            assert response.status_code not in (401, 403), where
            assert "WWW-Authenticate" not in response.headers, where
            continue
        assert_error(response, 403)
        challenge = response.headers["WWW-Authenticate"]
        if needed is None:
            assert challenge.startswith('Bearer error="insufficient_scope"'), where
        else:
            expected = f'Bearer error="insufficient_scope", scope="{needed}"'
            assert challenge == expected, where


def test_a_sign_in_token_has_every_scope(alice, all_routes):
    for method, rule in all_routes:
        path = concrete(rule, alice.id)
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"} if rule == "/mcp" else {}
        response = alice.client.open(
            path, method=method, json=body, headers=alice.headers
        )
        assert response.status_code not in (401, 403), (method, path)


def test_another_users_path_is_403_before_the_scope(alice, bob):
    token = create_access_token(alice, ["tasks:read"])["token"]
    script = with_access_token(alice, token, f"/api/{bob.id}")
    response = script.get("/tasks")
    assert_error(response, 403)
    assert "another user" in response.get_json()["detail"]


def test_write_brings_read_and_writes_are_the_users(alice):
    token = create_access_token(alice, ["tasks:write"])["token"]
    script = with_access_token(alice, token, "/api")
    created = script.post("/tasks", json={"title": "By a script"})
    assert created.status_code == 201
    task = created.get_json()
    assert task["user_id"] == alice.id
    assert script.get(f"/tasks/{task['id']}").status_code == 200
    assert alice.get(f"/tasks/{task['id']}").get_json()["title"] == "By a script"


def test_a_read_token_writes_nothing(alice):
    token = create_access_token(alice, ["tasks:read"])["token"]
    script = with_access_token(alice, token, "/api")
    response = script.post("/tasks", json={"title": "No"})
    assert_error(response, 403)
    assert alice.get("/tasks").get_json() == []


def test_the_openapi_document_shows_the_scheme_and_each_operations_scope(client):
    spec = client.get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["accessToken"]["scheme"] == "bearer"
    operations = {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {m.lower() for m in METHODS}
    }
    assert operations
    for (method, path), operation in operations.items():
        if not path.startswith("/api"):
            continue
        wanted = expected_scope(path, method)
        security = operation["security"]
        if wanted is None:
            assert security == [{"bearerAuth": []}], (method, path)
            assert "x-access-token-scope" not in operation
        else:
            assert security == [{"bearerAuth": []}, {"accessToken": []}], path
            assert operation["x-access-token-scope"] == wanted, (method, path)
