"""A user id: the opaque string a sign-in token names (Better Auth's user id),
checked the same way wherever one comes in (a token, a command's argument)."""

import click

MAX_USER_ID_LENGTH = 255


def usable_id(value) -> bool:
    """An opaque string of 1-255 characters that a database and a log line can
    hold: PostgreSQL's text refuses NUL, and UTF-8 (every driver's, and the JSON
    logs') has no lone surrogates."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_USER_ID_LENGTH:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def user_id_argument(ctx, param, value: str) -> str:
    """click callback of the commands' USER_ID argument."""
    if not usable_id(value):
        raise click.BadParameter(f"must be 1-{MAX_USER_ID_LENGTH} characters")
    return value
