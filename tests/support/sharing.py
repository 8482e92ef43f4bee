"""Shared lists as users make them: an owner invites, a member accepts the code,
and members leave or are removed, all through the API (tests/support/users.User)."""


def invite(owner, list_id, role="editor", **fields) -> str:
    """A new invitation's code."""
    response = owner.post(
        f"/lists/{list_id}/invitations", json={"role": role, **fields}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def share(owner, list_id, member, role="editor") -> dict:
    """`member` joins `owner`'s list as `role`; the list as the member sees it."""
    response = member.post(
        "/invitations/accept", json={"code": invite(owner, list_id, role)}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def remove(by, list_id, member_id) -> None:
    """The owner removes a member, or a member (`by`) leaves."""
    response = by.delete(f"/lists/{list_id}/members/{member_id}")
    assert response.status_code == 204, response.get_json()


def shared_list(owner, name="Family", members=(), role="editor") -> dict:
    """A new list of `owner`'s with `members` in it; the list as its owner sees it."""
    response = owner.post("/lists", json={"name": name})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    for member in members:
        share(owner, created["id"], member, role)
    return created
