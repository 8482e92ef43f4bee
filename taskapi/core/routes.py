"""The blueprints of a user's resources (tasks, lists): every route served at
/api/<user_id>/... (the path must name the token's user, else 403) and at
/api/... (the user comes from the token alone), with its errors documented; and
the access-token scope each route needs, declared here and checked in one place
(auth/bearer.py)."""

import functools
from http import HTTPStatus

import flask_smorest
from flask import g

from .jsonio import Parser

STRING = {"schema": {"type": "string"}}
# The OpenAPI security schemes of every protected route (web/docs.py declares them).
SECURITY_SCHEME = "bearerAuth"
ACCESS_TOKEN_SCHEME = "accessToken"
BEARER_AUTH = [{SECURITY_SCHEME: []}]

# The scopes of an access token (tokens/), and what a route may declare it needs.
READ, WRITE, WEBHOOKS, MCP = "tasks:read", "tasks:write", "webhooks", "mcp"
SCOPES = (READ, WRITE, WEBHOOKS, MCP)
BY_METHOD = "by method"  # tasks:read for GET and HEAD, tasks:write for the rest
SIGN_IN_ONLY = "sign-in only"  # no access token at all: a sign-in JWT only
SCOPE_ATTRIBUTE = "access_scope"
# The OpenAPI extension naming the scope an operation needs of an access token
# (OpenAPI 3.0 allows scopes in a security requirement for OAuth 2 schemes only).
SCOPE_EXTENSION = "x-access-token-scope"
REQUIRED_SCOPES_EXTENSION = "taskapi.required_scopes"


def needs_scope(scope: str):
    """Declare the scope a route needs of an access token, on a blueprint (every
    route of it), a MethodView class, one of its methods, or a view function.
    The narrowest declaration wins; auth/bearer.py checks it before the view."""

    def declare(target):
        setattr(target, SCOPE_ATTRIBUTE, scope)
        return target

    return declare


def scope_for_method(declared: str | None, method: str) -> str | None:
    if declared == BY_METHOD:
        return READ if method in ("GET", "HEAD") else WRITE
    return declared


def declared_scope(view, blueprint, method: str) -> str | None:
    """The scope `view` (as registered: a function, or MethodView.as_view's) of
    `blueprint` needs for `method`; None if nothing declares one."""
    view_class = getattr(view, "view_class", None)
    for target in (getattr(view_class, method.lower(), None), view_class, view):
        declared = getattr(target, SCOPE_ATTRIBUTE, None)
        if declared is not None:
            return scope_for_method(declared, method)
    return scope_for_method(getattr(blueprint, SCOPE_ATTRIBUTE, None), method)


def required_scope(app, endpoint: str, method: str) -> str | None:
    """What the route behind `endpoint` needs of an access token for `method`;
    remembered per app, as routes are registered before the first request."""
    remembered = app.extensions.setdefault(REQUIRED_SCOPES_EXTENSION, {})
    key = (endpoint, method)
    try:
        return remembered[key]
    except KeyError:
        blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
        scope = declared_scope(app.view_functions.get(endpoint), blueprint, method)
        return remembered.setdefault(key, scope)


def security_of(scope: str | None) -> dict:
    """The OpenAPI `security` (and scope extension) of an operation needing `scope`."""
    if scope == SIGN_IN_ONLY:
        return {"security": BEARER_AUTH}
    return {
        "security": [*BEARER_AUTH, {ACCESS_TOKEN_SCHEME: []}],
        SCOPE_EXTENSION: scope,
    }


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint reading bodies by the contract's rules, and
    documenting each operation's security from the scope it declares."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args, scope: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if scope is not None:
            needs_scope(scope)(self)
        # flask-smorest's hook for an operation's generated doc
        self._prepare_doc_cbks.append(self._prepare_security_doc)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                target = _AsView(obj) if isinstance(obj, type) else obj
                doc["access_scope"] = declared_scope(target, self, method.upper())

    @staticmethod
    def _prepare_security_doc(doc, doc_info, **_kwargs):
        scope = doc_info.get("access_scope")
        if scope is not None:
            doc.update(security_of(scope))
        return doc


class _AsView:
    """A MethodView class as as_view() registers it (its `view_class`)."""

    def __init__(self, view_class):
        self.view_class = view_class


def same_as(method, summary: str):
    """A view method again, under another docstring (its OpenAPI summary): for
    an HTTP method that does exactly what another does (PATCH as PUT), with the
    same arguments, response and errors documented."""

    @functools.wraps(method)
    def again(*args, **kwargs):
        return method(*args, **kwargs)

    again.__doc__ = summary
    return again


def _set_aside_path_user(_endpoint, values):
    """/api/<user_id>/...: the path's user is for auth.authenticate to compare
    with the token's (403 if they differ); the views use g.user_id alone."""
    g.path_user_id = values.pop("user_id", None)


class UserBlueprint(Blueprint):
    def __init__(
        self, name: str, import_name: str, description: str, scope: str = BY_METHOD
    ):
        super().__init__(
            name, import_name, url_prefix="/api", description=description, scope=scope
        )
        self.url_value_preprocessor(_set_aside_path_user)

    def both_routes(self, rule: str, endpoint: str):
        """Route a view at both /api/<user_id><rule> and /api<rule>."""

        def decorator(view):
            self.route(f"/<user_id>{rule}", endpoint=f"user_{endpoint}")(view)
            return self.route(rule, endpoint=endpoint)(view)

        return decorator

    def doc_errors(self, *statuses):
        """Document the errors a method answers: `statuses`, and those of every
        route (401; 403 for another user's path or a scope the access token
        lacks; 414 a URL past gunicorn's limit; 503 database down). 422 is
        documented by the arguments; the security by the declared scope."""
        return self.doc(
            responses={
                status: HTTPStatus(status).name
                for status in (401, 403, 414, 503, *statuses)
            },
        )
