"""Reminders: `{"before": "PT15M"}` (before the due date) or `{"at": <RFC 3339>}`,
checked here and turned into the instants they fire at (`remind_at`). The
marshmallow fields of a task's `reminders` are in reminders/schemas.py."""

import re
from datetime import datetime, timedelta, timezone

from marshmallow import ValidationError

MAX_REMINDERS = 5
MAX_BEFORE = timedelta(days=30)

# ISO 8601 in weeks, days, hours and minutes; the lookaheads refuse a bare P or PT.
_DURATION = re.compile(
    r"P(?=\d|T\d)(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?=\d)(?:(\d{1,9})H)?(?:(\d{1,9})M)?)?"
)
_DURATION_HELP = "an ISO 8601 duration in weeks, days, hours and minutes (e.g. PT15M)"


def parse_duration(text: str) -> timedelta:
    """`PT15M`, `P1D`, `P1DT12H`, `P2W`... from 0 to P30D; raises ValidationError."""
    if not isinstance(text, str):
        raise ValidationError(f"Not a string: give {_DURATION_HELP}.")
    upper = text.upper()
    match = _DURATION.fullmatch(upper)
    if not match:
        raise ValidationError(f"{text!r} is not {_DURATION_HELP}{_why(upper)}.")
    weeks, days, hours, minutes = (int(n) if n else 0 for n in match.groups())
    # Counted in minutes first: a huge number must not overflow timedelta.
    total = ((weeks * 7 + days) * 24 + hours) * 60 + minutes
    if total > MAX_BEFORE // timedelta(minutes=1):
        raise ValidationError(f"{text!r} is longer than P30D.")
    return timedelta(minutes=total)


def _why(upper: str) -> str:
    """The likely mistake in a refused duration, for the error message."""
    if upper.startswith("-"):
        return ": a reminder cannot be after the due date"
    if "," in upper or "." in upper:
        return ": no fractions"
    date_part, _, time_part = upper.partition("T")
    if "Y" in date_part or "M" in date_part:
        return ": no years or months (their length varies)"
    if "S" in time_part:
        return ": no seconds"
    return ""


def _instant(value: datetime | str) -> datetime:
    """An `at` as loaded (a datetime) or as stored in JSON (RFC 3339 text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("An `at` reminder must be timezone-aware.")
    return value.astimezone(timezone.utc)


def remind_times(reminders: list[dict], due: datetime | None) -> list[dict]:
    """Each reminder with its `remind_at` (UTC), sorted by it; of two with the same
    `remind_at` the first given stays. `before` is elapsed time (P1D is 24 hours):
    a task without a recurrence has no time zone to count calendar days in.
    Raises ValidationError on `reminders` for a `before` reminder without a due
    date."""
    timed: dict[datetime, dict] = {}
    for reminder in reminders:
        if "before" in reminder:
            if due is None:
                raise ValidationError(
                    "A `before` reminder needs a due date.", "reminders"
                )
            try:
                remind_at = (due - parse_duration(reminder["before"])).astimezone(
                    timezone.utc
                )
            except OverflowError:  # before year 1
                raise ValidationError(
                    "That reminder falls before year 1.", "reminders"
                ) from None
        else:
            remind_at = _instant(reminder["at"])
        timed.setdefault(remind_at, {**reminder, "remind_at": remind_at})
    return [timed[remind_at] for remind_at in sorted(timed)]


def _text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def stored(reminders: list[dict], due: datetime | None) -> list[dict]:
    """Reminders (as loaded, or as stored before) as a task stores and answers
    them: `before` or `at`, and `remind_at`, in RFC 3339 UTC text, sorted.
    Raises ValidationError on `reminders` (see remind_times)."""
    given = [
        {"before": r["before"]} if "before" in r else {"at": r["at"]} for r in reminders
    ]
    return [
        {"before": r["before"], "remind_at": _text(r["remind_at"])}
        if "before" in r
        else {"at": _text(_instant(r["at"])), "remind_at": _text(r["remind_at"])}
        for r in remind_times(given, due)
    ]


def carried(reminders: list[dict], due: datetime) -> list[dict]:
    """The reminders a next occurrence gets: the `before` ones, from its due date."""
    return stored([r for r in reminders if "before" in r], due)


def instants(reminders: list[dict]) -> list[tuple[datetime, str | None]]:
    """(remind_at, before) of each stored reminder: the rows of the reminders table."""
    return [(_instant(r["remind_at"]), r.get("before")) for r in reminders]
