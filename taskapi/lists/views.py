"""The lists blueprint: named lists of tasks (a task's `list_id`), the user's own
and those shared with them (sharing/ manages members and invitations).

Served at /api/<user_id>/lists... and /api/lists..., as tasks are (core/routes.py).
Only the owner renames or deletes a list; deleting it soft-deletes its tasks, for
everyone.
"""

from flask import g, request
from flask.views import MethodView

from ..core.etags import conditional_get, etag_of, if_match, tagged
from ..core.routes import STRING, UserBlueprint, same_as
from . import service as list_queries
from .schemas import ListCreateSchema, ListSchema, ListUpdateSchema

blp = UserBlueprint(
    "lists",
    __name__,
    description="Lists of tasks: a user's own (at most 200, names unique ignoring "
    "case) and those shared with them.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


@route("/lists", "lists")
class Lists(MethodView):
    @blp.response(200, ListSchema(many=True))
    @doc_errors()
    def get(self):
        """List the lists the user sees (own and shared), oldest first"""
        return list_queries.get_lists(g.user_id)

    @blp.arguments(ListCreateSchema())
    @blp.response(201, ListSchema, headers={"Location": STRING, "ETag": STRING})
    @blp.alt_response(409, description="Name taken, or already 200 lists")
    @doc_errors(400, 413, 415)
    def post(self, fields):
        """Create a list"""
        created = list_queries.create_list(g.user_id, fields)
        location = f"{request.path}/{created.id}"
        return created, {"Location": location, "ETag": etag_of(created)}


@route("/lists/<list_id>", "list")
class ListById(MethodView):
    @blp.response(200, ListSchema, headers={"ETag": STRING})
    @blp.alt_response(304, description="Not modified: If-None-Match names the ETag")
    @doc_errors(404)
    def get(self, list_id):
        """Get a list"""
        return conditional_get(list_queries.get_list(g.user_id, list_id))

    @blp.arguments(ListUpdateSchema())
    @blp.response(200, ListSchema, headers={"ETag": STRING})
    @blp.alt_response(409, description="Another list has this name")
    @doc_errors(400, 404, 412, 413, 415)
    def put(self, fields, list_id):
        """Rename a list (its owner only: 403 for a member)"""
        return tagged(list_queries.update_list(g.user_id, list_id, fields, if_match()))

    patch = same_as(put, "Rename a list (same as PUT; its owner only)")

    @blp.response(204)
    @doc_errors(404, 412)
    def delete(self, list_id):
        """Delete a list and every task in it, for everyone (its owner only)"""
        list_queries.delete_list(g.user_id, list_id, if_match())
