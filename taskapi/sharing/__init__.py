"""Shared lists: members and their roles, invitations, leaving (the table of
memberships itself is core's: core/memberships.py)."""
