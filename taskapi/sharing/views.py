"""The sharing blueprint: a list's invitations and members, and accepting an
invitation. Both route families, as tasks are (core/routes.py); reads need
tasks:read of an access token, the rest tasks:write."""

from flask import g
from flask.views import MethodView

from ..core.routes import UserBlueprint
from ..lists.schemas import ListSchema
from . import service as sharing
from .schemas import (
    AcceptSchema,
    InvitationCreateSchema,
    InvitationSchema,
    MemberSchema,
    MemberUpdateSchema,
    NewInvitationSchema,
)

blp = UserBlueprint(
    "sharing",
    __name__,
    description="Shared lists: the owner invites (a code, shown once), the invited "
    "accept; members are editors or viewers, leave, or are removed.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


@route("/lists/<list_id>/invitations", "invitations")
class Invitations(MethodView):
    @blp.response(200, InvitationSchema(many=True))
    @doc_errors(404)
    def get(self, list_id):
        """List a list's invitations, newest first (its owner only; no codes)"""
        return sharing.get_invitations(g.user_id, list_id)

    @blp.arguments(InvitationCreateSchema())
    @blp.response(201, NewInvitationSchema)
    @blp.alt_response(409, description="Already 20 open invitations to the list")
    @doc_errors(400, 404, 413, 415)
    def post(self, fields, list_id):
        """Invite to a list (its owner only): the code is in this answer only"""
        return sharing.create_invitation(g.user_id, list_id, fields)


@route("/lists/<list_id>/invitations/<invitation_id>", "invitation")
class InvitationById(MethodView):
    @blp.response(204)
    @doc_errors(404)
    def delete(self, list_id, invitation_id):
        """Revoke an invitation: its code admits no one from now on"""
        sharing.revoke_invitation(g.user_id, list_id, invitation_id)


@route("/invitations/accept", "accept")
class Accept(MethodView):
    @blp.arguments(AcceptSchema())
    @blp.response(200, ListSchema)
    @blp.alt_response(409, description="The list has 100 people in it already")
    @doc_errors(400, 404, 413, 415)
    def post(self, fields):
        """Accept an invitation: the list, as its new member sees it"""
        return sharing.accept(g.user_id, fields["code"])


@route("/lists/<list_id>/members", "members")
class Members(MethodView):
    @blp.response(200, MemberSchema(many=True))
    @doc_errors(404)
    def get(self, list_id):
        """List the people in a list: its owner first, then by joining"""
        return sharing.get_members(g.user_id, list_id)


@route("/lists/<list_id>/members/<member_id>", "member")
class MemberById(MethodView):
    @blp.arguments(MemberUpdateSchema())
    @blp.response(200, MemberSchema)
    @doc_errors(400, 404, 413, 415)
    def patch(self, fields, list_id, member_id):
        """Change a member's role (the list's owner only)"""
        return sharing.change_role(g.user_id, list_id, member_id, fields["role"])

    @blp.response(204)
    @doc_errors(404, 422)
    def delete(self, list_id, member_id):
        """Remove a member (the owner), or leave (the member themselves)"""
        sharing.remove_member(g.user_id, list_id, member_id)
