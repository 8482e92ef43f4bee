"""The blueprints of a user's resources (tasks, lists): every route served at
/api/<user_id>/... (the path must name the token's user, else 403) and at
/api/... (the user comes from the token alone), with its errors documented."""

import functools
from http import HTTPStatus

import flask_smorest
from flask import g

from .jsonio import Parser

STRING = {"schema": {"type": "string"}}
# The OpenAPI security scheme of every protected route (web/docs.py declares it).
SECURITY_SCHEME = "bearerAuth"
BEARER_AUTH = [{SECURITY_SCHEME: []}]


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint reading bodies by the contract's rules."""

    ARGUMENTS_PARSER = Parser()


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
    def __init__(self, name: str, import_name: str, description: str):
        super().__init__(name, import_name, url_prefix="/api", description=description)
        self.url_value_preprocessor(_set_aside_path_user)

    def both_routes(self, rule: str, endpoint: str):
        """Route a view at both /api/<user_id><rule> and /api<rule>."""

        def decorator(view):
            self.route(f"/<user_id>{rule}", endpoint=f"user_{endpoint}")(view)
            return self.route(rule, endpoint=endpoint)(view)

        return decorator

    def doc_errors(self, *statuses):
        """Document the bearer token and the errors a method answers: `statuses`,
        and those of every route (401; 403 for another user's path; 414 a URL
        past gunicorn's limit; 503 database down). 422 is documented by the
        arguments."""
        return self.doc(
            security=BEARER_AUTH,
            responses={
                status: HTTPStatus(status).name
                for status in (401, 403, 414, 503, *statuses)
            },
        )
