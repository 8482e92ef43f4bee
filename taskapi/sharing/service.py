"""Sharing a list: its owner's invitations (at most 20 live), accepting one (at
most 100 in a list, the owner included), the members, their roles, leaving and
removal.

Every change of a list's members or invitations holds the list's sharing lock
(lists.service.sharing_lock), so the limits hold under concurrent requests.
Who sees or may write what is core/scope.py's; the list's own rows and tasks
are lists/'s."""

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select
from werkzeug.exceptions import Forbidden, NotFound

from ..core.columns import utcnow
from ..core.db import Session, begin_transaction, refuse_at_limit
from ..core.digests import digest
from ..core.errors import invalid
from ..core.memberships import MEMBERS, OWNER, Membership
from ..core.scope import OWNER_ONLY, present, role_in, uuid_or_404
from ..lists import service as lists
from .models import Invitation

MAX_LIVE_INVITATIONS = 20
MAX_MEMBERS = 100  # the owner included
INVITATION_NOT_FOUND = "Invitation not found."
# One answer for every code that admits no one: unknown, expired, used up,
# revoked, or of a deleted list; nothing tells them apart.
CODE_NOT_FOUND = "No open invitation has this code."
MEMBER_NOT_FOUND = "Member not found."


def _live(now):
    """An invitation that still admits someone."""
    return Invitation.expires_at > now, Invitation.uses < Invitation.max_uses


def _managed_list(
    user_id: str, list_id: str, owner_only: bool = True
) -> lists.SeenList:
    """The list, in a transaction holding its sharing lock; with `owner_only`
    403 for a member; 404 for anyone who does not see it. Read after the lock:
    a deletion that committed meanwhile is seen."""
    begin_transaction()
    lists.sharing_lock(lists.list_uuid(list_id))
    return lists.get_list(user_id, list_id, owner_only=owner_only)


def create_invitation(user_id: str, list_id: str, fields: dict) -> Invitation:
    """The new row, carrying its code as `.code` (in this object only: the row
    keeps its SHA-256). 128 bits and more: 24 random bytes."""
    code = secrets.token_urlsafe(24)
    found = _managed_list(user_id, list_id)
    now = utcnow()
    # the list's sharing lock, held, serialises the creates counted here
    refuse_at_limit(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.list_id == found.id, *_live(now)),
        MAX_LIVE_INVITATIONS,
        f"At most {MAX_LIVE_INVITATIONS} open invitations per list: revoke one first.",
    )
    created = Invitation(
        list_id=found.id,
        role=fields["role"],
        code_hash=digest(code),
        created_by=user_id,
        created_at=now,
        expires_at=now + timedelta(days=fields["expires_in_days"]),
        max_uses=fields["max_uses"],
        uses=0,
    )
    Session.add(created)
    Session.commit()
    created.code = code
    return created


def get_invitations(user_id: str, list_id: str) -> list[Invitation]:
    """The list's invitations, open or not, newest first (its owner only)."""
    found = lists.get_list(user_id, list_id, owner_only=True)
    return Session.scalars(
        select(Invitation)
        .where(Invitation.list_id == found.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()


def revoke_invitation(user_id: str, list_id: str, invitation_id: str) -> None:
    """Deleted: its code admits no one from now on."""
    invitation = uuid_or_404(invitation_id, INVITATION_NOT_FOUND)
    found = _managed_list(user_id, list_id)
    revoked = Session.execute(
        delete(Invitation).where(
            Invitation.list_id == found.id, Invitation.id == invitation
        )
    ).rowcount
    if not revoked:
        raise NotFound(INVITATION_NOT_FOUND)
    Session.commit()


def _open_invitation(code_hash: str) -> Invitation:
    """The invitation with this code's hash, row-locked, if it still admits
    someone; one 404 for every other case."""
    begin_transaction()
    list_id = Session.execute(
        select(Invitation.list_id).where(Invitation.code_hash == code_hash)
    ).scalar()
    if list_id is None:
        raise NotFound(CODE_NOT_FOUND)
    lists.sharing_lock(list_id)
    # Locked, so that concurrent accepts of a one-use code count one use each
    # in turn: the second sees it used up.
    invitation = Session.scalars(
        select(Invitation)
        .where(Invitation.code_hash == code_hash, *_live(utcnow()))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if invitation is None:
        raise NotFound(CODE_NOT_FOUND)
    return invitation


def accept(user_id: str, code: str) -> lists.SeenList:
    """The user joins the invitation's list with its role (or rejoins, after
    leaving); the list as they now see it. Its owner, or a member already: no
    change, no use counted."""
    invitation = _open_invitation(digest(code))
    # created_by is the list's owner: only owners invite
    found = lists.owners_list(invitation.created_by, invitation.list_id)
    if found is None:
        raise NotFound(CODE_NOT_FOUND)
    if role_in(user_id, found.user_id, found.id) is None:
        _join(user_id, invitation)
    answer = lists.get_list(user_id, found.id)
    Session.commit()
    return answer


def _join(user_id: str, invitation: Invitation) -> None:
    refuse_at_limit(
        select(lists.member_count(invitation.list_id)),
        MAX_MEMBERS,
        f"At most {MAX_MEMBERS} people in a list, its owner included: "
        "this one is full.",
    )
    now = utcnow()
    # A member who left keeps their row: joining again reopens it (an UPDATE,
    # which numbers change_xid, so the change feed reports the list again).
    member = Session.get(
        Membership, (invitation.list_id, user_id), populate_existing=True
    )
    if member is None:
        member = Membership(list_id=invitation.list_id, user_id=user_id)
        Session.add(member)
    member.role, member.joined_at, member.left_at = invitation.role, now, None
    invitation.uses += 1
    Session.flush()


def get_members(user_id: str, list_id: str) -> list[dict]:
    """Everyone in a list the user sees: its owner first, then the members in
    the order they joined."""
    found = lists.get_list(user_id, list_id)
    members = Session.scalars(
        select(Membership)
        .where(*present(list_id=found.id))
        .order_by(MEMBERS.joined_at, MEMBERS.user_id)
    ).all()
    owner = {"user_id": found.owner_id, "role": OWNER, "joined_at": found.created_at}
    return [owner, *members]


def _locked_member(list_id: uuid.UUID, member_id: str) -> Membership:
    """The active membership, FOR UPDATE: it waits for the writes that hold it
    FOR SHARE (core/scope.py require_writer), so none runs after the change."""
    member = Session.scalars(
        select(Membership)
        .where(*present(list_id=list_id, user_id=member_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if member is None:
        raise NotFound(MEMBER_NOT_FOUND)
    return member


def change_role(user_id: str, list_id: str, member_id: str, role: str) -> Membership:
    """The owner makes a member an editor or a viewer; not themselves (422)."""
    found = _managed_list(user_id, list_id)
    if member_id == found.owner_id:
        raise invalid("role", "The owner's role is owner: it cannot be changed.")
    member = _locked_member(found.id, member_id)
    member.role = role
    Session.commit()
    return member


def remove_member(user_id: str, list_id: str, member_id: str) -> None:
    """The owner removes a member, or a member leaves. The row is kept, with
    left_at (the member's change feed reports the list gone), and the member
    is unassigned from the list's tasks in the same transaction."""
    found = _managed_list(user_id, list_id, owner_only=False)
    if found.role != OWNER and member_id != user_id:
        raise Forbidden(OWNER_ONLY)
    if member_id == found.owner_id:
        raise invalid("user_id", "The owner cannot be removed from their list.", "path")
    # The tasks first, then the membership: the order a write takes them in
    # (its task, then the membership: tasks/guarded_writes.py), so the two
    # cannot deadlock. Again after: tasks assigned while the lock was awaited.
    lists.unassign(found, member_id, user_id)
    member = _locked_member(found.id, member_id)
    member.left_at = utcnow()
    lists.unassign(found, member_id, user_id)
    Session.commit()
