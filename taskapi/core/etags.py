"""Entity tags of tasks and the conditional request headers that carry them.

A task's ETag is a hash of its id (so a tag never matches another task) and its
`version`, bumped on every change. `If-None-Match` compares weakly, `If-Match`
strongly, as RFC 9110 says.
"""

import hashlib

from flask import current_app, request
from werkzeug.datastructures import ETags
from werkzeug.exceptions import PreconditionFailed
from werkzeug.http import parse_etags, quote_etag


def _opaque_tag(task) -> str:
    """The tag without its quotes, as werkzeug's ETags compares them."""
    digest = hashlib.blake2b(f"{task.id}:{task.version}".encode(), digest_size=10)
    return digest.hexdigest()


def etag_of(task) -> str:
    """The task's ETag header value, quotes included."""
    return quote_etag(_opaque_tag(task))


class IfMatch:
    """A request's If-Match condition, checked against a task's current tag."""

    def __init__(self, tags: ETags):
        self.tags = tags

    def check(self, task) -> None:
        """412 unless the task's current tag is one of the tags (strong match)."""
        if not self.tags.contains(_opaque_tag(task)):
            raise PreconditionFailed(
                "It has changed since you read it: If-Match does not match "
                "its current ETag. Fetch it again, then retry."
            )


def if_match() -> IfMatch | None:
    """The If-Match condition of the current request, None without one.

    An empty header value counts as no header: clients written as
    `headers: {"If-Match": etag ?? ""}` send one when they have no tag yet.
    """
    value = request.headers.get("If-Match", "").strip()
    return IfMatch(parse_etags(value)) if value else None


def not_modified(task):
    """A 304 answer if the request's If-None-Match names the task's tag, else None."""
    value = request.headers.get("If-None-Match", "").strip()
    if value and parse_etags(value).contains_weak(_opaque_tag(task)):
        return current_app.response_class(status=304, headers={"ETag": etag_of(task)})
    return None


def tagged(found):
    """A view's answer: what it found or wrote (a task, list or webhook), with
    its ETag header."""
    return found, {"ETag": etag_of(found)}


def conditional_get(found):
    """What a GET of one task, list or webhook answers: 304 when If-None-Match
    names its current tag, else it, tagged."""
    unchanged = not_modified(found)
    return tagged(found) if unchanged is None else unchanged
