"""The calendar feeds blueprints: a user's feeds at /calendar-feeds (both route
families, as tasks are: core/routes.py), and the feed documents at
/calendar/<secret>.ics, outside /api, which need no token (the secret in the
URL is the credential: calendars send no header) and are rate limited per feed."""

from datetime import datetime, timezone

from flask import Blueprint, current_app, g, request, stream_with_context
from flask.views import MethodView

from ..core.etags import etag_of, not_modified
from ..core.routes import STRING, UserBlueprint
from ..web.ratelimit import check_feed_budget
from . import ics
from . import service as calendars
from .schemas import FeedCreateSchema, FeedSchema, NewFeedSchema

blp = UserBlueprint(
    "calendar_feeds",
    __name__,
    description="Calendar feeds: secret iCalendar URLs of the user's dated tasks "
    "(or one list's) for Google Calendar, Apple Calendar, Outlook, Thunderbird.",
)
route, doc_errors = blp.both_routes, blp.doc_errors

# The documents: no token, no smorest (not JSON; not in the OpenAPI document).
feeds = Blueprint("calendar", __name__)


@feeds.url_value_preprocessor
def _keep_the_secret_out_of_logs(_endpoint, _values):
    g.logged_path = "/calendar/<secret>.ics"


CONTENT_TYPE = "text/calendar; charset=utf-8"
# A calendar polls again within the hour; max-age lets it (or a proxy of its
# own) skip a poll, and If-None-Match makes the others a 304.
CACHE_CONTROL = "private, max-age=300"


def feed_url(secret: str) -> str:
    """The absolute URL: scheme and host as the request came (behind a router,
    from the X-Forwarded-* headers gunicorn trusts: FORWARDED_ALLOW_IPS)."""
    return f"{request.host_url}calendar/{secret}.ics"


@route("/calendar-feeds", "calendar_feeds")
class Feeds(MethodView):
    @blp.response(200, FeedSchema(many=True))
    @doc_errors()
    def get(self):
        """List the user's calendar feeds, newest first (never their URL)"""
        return calendars.get_feeds(g.user_id)

    @blp.arguments(FeedCreateSchema())
    @blp.response(201, NewFeedSchema, headers={"Location": STRING})
    @blp.alt_response(409, description="Already 20 calendar feeds")
    @doc_errors(400, 413, 415)
    def post(self, fields):
        """Create a calendar feed (its URL is in this answer only)"""
        created = calendars.create_feed(g.user_id, fields)
        created.url = feed_url(created.secret)
        return created, {"Location": f"{request.path}/{created.id}"}


@route("/calendar-feeds/<feed_id>", "calendar_feed")
class FeedById(MethodView):
    @blp.response(204)
    @doc_errors(404)
    def delete(self, feed_id):
        """Revoke a calendar feed: its URL is 404 from now on"""
        calendars.revoke_feed(g.user_id, feed_id)


@feeds.get("/calendar/<secret>.ics")
def document(secret):
    """A feed's iCalendar document, streamed: memory holds one page of tasks."""
    feed = calendars.feed_by_secret(secret)
    check_feed_budget(feed.id)
    headers = {"Cache-Control": CACHE_CONTROL}
    unchanged = not_modified(feed)
    if unchanged is not None:
        unchanged.headers.update(headers)
        return unchanged
    zones = calendars.zones(feed)
    today = datetime.now(timezone.utc).date()

    @stream_with_context
    def pieces():
        yield ics.head(feed.name)
        for zone in zones:
            yield ics.vtimezone(zone, today)
        for task in calendars.tasks(feed):
            yield ics.vevent(task)
        yield ics.END

    return current_app.response_class(
        pieces(), content_type=CONTENT_TYPE, headers={**headers, "ETag": etag_of(feed)}
    )
