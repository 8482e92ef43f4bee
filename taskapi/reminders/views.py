"""The reminders blueprint: GET /reminders, what is due to remind the user of in a
window of time (both route families, as tasks are: core/routes.py)."""

from datetime import timedelta

import marshmallow as ma
from flask import g
from flask.views import MethodView
from marshmallow import ValidationError, fields

from ..core.columns import utcnow
from ..core.fields import UTCDateTime
from ..core.routes import UserBlueprint
from .service import due_reminders

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=31)

blp = UserBlueprint(
    "reminders",
    __name__,
    description="Reminders due in a window of time, from the open tasks the user "
    "sees that are assigned to them, or unassigned and created by them.",
)
route, doc_errors = blp.both_routes, blp.doc_errors


class ReminderWindowSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # unknown query parameters are ignored, as on /tasks

    after = UTCDateTime(metadata={"description": "Inclusive; default: now."})
    before = UTCDateTime(
        metadata={
            "description": "Exclusive; default: `after` + 24 h; at most 31 days on."
        }
    )

    @ma.post_load
    def window(self, data, **kwargs):
        after = data.get("after") or utcnow()
        try:
            before = data.get("before") or after + DEFAULT_WINDOW
        except OverflowError:  # the calendar ends at 9999-12-31
            raise ValidationError(
                "Too close to the end of year 9999 for the default 24 h window: "
                "give `before` too.",
                "after",
            ) from None
        if before < after:
            raise ValidationError("Must not be earlier than `after`.", "before")
        if before - after > MAX_WINDOW:
            raise ValidationError("At most 31 days after `after`.", "before")
        return {"after": after, "before": before}


class DueReminderSchema(ma.Schema):
    task_id = fields.UUID()
    title = fields.String()
    due_date = UTCDateTime(allow_none=True)
    remind_at = UTCDateTime()


@route("/reminders", "reminders")
class Reminders(MethodView):
    @blp.arguments(ReminderWindowSchema(), location="query")
    @blp.response(200, DueReminderSchema(many=True))
    @doc_errors()
    def get(self, window):
        """Reminders in [after, before) of the user's live, open tasks, by remind_at"""
        return due_reminders(g.user_id, window["after"], window["before"])
