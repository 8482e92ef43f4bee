"""The account blueprint: DELETE /account (both route families, as tasks are:
core/routes.py), with a sign-in token only and a `Confirm` header that says so."""

from flask import g, request
from flask.views import MethodView
from werkzeug.exceptions import PreconditionRequired

from ..core.routes import SIGN_IN_ONLY, UserBlueprint
from . import service as accounts

blp = UserBlueprint(
    "account",
    __name__,
    description="The user's account: erase everything it holds, for good "
    "(a sign-in token only).",
    scope=SIGN_IN_ONLY,
)
route, doc_errors = blp.both_routes, blp.doc_errors

CONFIRMATION = "delete my data"


@route("/account", "account")
class Account(MethodView):
    @blp.response(204)
    @blp.alt_response(428, description="No `Confirm: delete my data` header")
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "Confirm",
                "required": True,
                "schema": {"type": "string", "enum": [CONFIRMATION]},
            }
        ]
    )
    @doc_errors()
    def delete(self):
        """Erase the account: every task, list, token, feed and webhook, for good"""
        if request.headers.get("Confirm", "").strip().lower() != CONFIRMATION:
            raise PreconditionRequired(
                f"Send the header `Confirm: {CONFIRMATION}` to erase this account "
                "and everything in it, for good."
            )
        accounts.erase_user(g.user_id)
