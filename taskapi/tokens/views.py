"""The tokens blueprint: a user's access tokens (both route families, as tasks
are: core/routes.py), managed only with a sign-in token. At most 50 live each."""

from flask import g, request
from flask.views import MethodView

from ..core.routes import SIGN_IN_ONLY, STRING, UserBlueprint
from . import service as tokens
from .schemas import NewTokenSchema, TokenCreateSchema, TokenSchema

blp = UserBlueprint(
    "tokens",
    __name__,
    description="Access tokens for scripts, integrations and agents: `tsk_...`, "
    "scoped, expiring; managed with a sign-in token only.",
    scope=SIGN_IN_ONLY,
)
route, doc_errors = blp.both_routes, blp.doc_errors


@route("/tokens", "tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    @doc_errors()
    def get(self):
        """List the user's access tokens, newest first (never the secret)"""
        return tokens.get_tokens(g.user_id)

    @blp.arguments(TokenCreateSchema())
    @blp.response(201, NewTokenSchema, headers={"Location": STRING})
    @blp.alt_response(409, description="Already 50 live access tokens")
    @doc_errors(400, 413, 415)
    def post(self, fields):
        """Create an access token (the token is in this answer only)"""
        created = tokens.create_token(g.user_id, fields)
        return created, {"Location": f"{request.path}/{created.id}"}


@route("/tokens/<token_id>", "token")
class TokenById(MethodView):
    @blp.response(200, TokenSchema)
    @doc_errors(404)
    def get(self, token_id):
        """Get an access token (never the secret)"""
        return tokens.get_token(g.user_id, token_id)

    @blp.response(204)
    @doc_errors(404)
    def delete(self, token_id):
        """Revoke an access token: refused from its next request on"""
        tokens.revoke_token(g.user_id, token_id)
