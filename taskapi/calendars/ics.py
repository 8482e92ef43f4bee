"""The iCalendar document of a feed, built with the `icalendar` package (its
escaping, line folding and VTIMEZONEs from the zone database), one piece at a
time so the view can stream it: the head (VCALENDAR's properties), the
VTIMEZONEs, one VEVENT per task, the end.

Every VEVENT is a function of the task's row alone (DTSTAMP is its
updated_at), so the same tasks give the same bytes, and the ETag (service.py)
can be computed from an aggregate before the rows are read."""

from datetime import date, datetime, time, timedelta, timezone

from icalendar import Alarm, Calendar, Event, Timezone, vDuration, vRecur

from ..recurrence.dates import local_start
from ..recurrence.rules import load_zone, parse_rule, zone_name

PRODID = "-//taskapi//Calendar feeds 1.0//EN"
# A task is a point in time; calendars need a length to draw it (docs/calendar.md).
DURATION = timedelta(minutes=30)
REFRESH = timedelta(hours=1)
# PRIORITY by the task's priority rank (tasks/models.py: low 0 ... urgent 3).
PRIORITY = {0: 9, 1: 5, 2: 3, 3: 1}
# VTIMEZONE transitions from this date to at least TIMEZONE_YEARS ahead.
TIMEZONE_FIRST_DATE = date(1970, 1, 1)
TIMEZONE_YEARS = 30
END = b"END:VCALENDAR\r\n"


def head(name: str) -> bytes:
    """BEGIN:VCALENDAR and its properties, without its END."""
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    document = calendar.to_ical()
    return document.removesuffix(END)


def vtimezone(name: str, today: date) -> bytes:
    """The VTIMEZONE of an IANA zone, from the pinned tzdata's rules."""
    last = date(max(today.year + TIMEZONE_YEARS, 2038), 1, 1)
    component = Timezone.from_tzinfo(
        load_zone(zone_name(name)), first_date=TIMEZONE_FIRST_DATE, last_date=last
    )
    for observance in component.subcomponents:
        _one_rdate_per_line(observance)
    return component.to_ical()


def _one_rdate_per_line(observance) -> None:
    """icalendar writes an observance's dates as one RDATE of many values;
    ical.js (Thunderbird) reads the first value of each RDATE only, and would
    apply the 1981 rules for ever: one RDATE property per date instead."""
    rdates = observance.pop("RDATE", None)
    if rdates is None:
        return
    for value in rdates if isinstance(rdates, list) else [rdates]:
        for moment in value.dts:
            observance.add("rdate", moment.dt)


def uid(task_id) -> str:
    return f"{task_id}@taskapi"


def _rrule(recurrence: dict) -> vRecur:
    """The stored rule (COUNT as stored); an UNTIL date becomes the UTC instant
    its local day ends, as RFC 5545 wants with a DTSTART;TZID (and as
    recurrence/dates.py counts it: the whole day)."""
    rule = parse_rule(recurrence["rule"])
    parts = dict(rule.parts)
    if rule.until is not None and not isinstance(rule.until, datetime):
        tz = load_zone(zone_name(recurrence.get("timezone", "UTC")))
        day_after = datetime.combine(rule.until + timedelta(days=1), time(), tz)
        last = (day_after - timedelta(seconds=1)).astimezone(timezone.utc)
        parts["UNTIL"] = last.strftime("%Y%m%dT%H%M%SZ")
    return vRecur.from_ical(";".join(f"{k}={v}" for k, v in parts.items()))


def recurs(recurrence: dict | None) -> bool:
    """Whether the task's schedule is an RRULE a calendar can expand: counted
    from the due date, not from a completion nobody knows in advance."""
    return recurrence is not None and recurrence.get("from", "due") == "due"


def zone_of(recurrence: dict) -> str:
    return zone_name(recurrence.get("timezone", "UTC"))


def vevent(task) -> bytes:
    """One task's VEVENT; `task` is a row of calendars/service.py's columns."""
    event = Event()
    event.add("uid", uid(task.id))
    event.add("dtstamp", task.updated_at)
    event.add("created", task.created_at)
    event.add("last-modified", task.updated_at)
    event.add("sequence", task.version - 1)
    event.add("summary", task.title)
    if task.description:
        event.add("description", task.description)
    if task.tags:
        event.add("categories", list(task.tags))
    event.add("priority", PRIORITY.get(task.priority, 5))
    recurrence = task.recurrence
    if recurs(recurrence):
        tz = load_zone(zone_of(recurrence))
        event.add("dtstart", local_start(recurrence, task.due_date).replace(tzinfo=tz))
        event.add("rrule", _rrule(recurrence))
    else:
        event.add("dtstart", task.due_date.astimezone(timezone.utc))
    event.add("duration", DURATION)
    for reminder in task.reminders or ():
        event.add_component(_alarm(task, reminder, recurs(recurrence)))
    return event.to_ical()


def _alarm(task, reminder: dict, recurring: bool) -> Alarm:
    """A `before` reminder of a recurring task is relative (it comes with every
    occurrence, as the API carries it to the next one); any other is the
    absolute instant it fires at."""
    remind_at = datetime.fromisoformat(reminder["remind_at"].replace("Z", "+00:00"))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", task.title)
    if recurring and reminder.get("before"):
        alarm.add("trigger", remind_at - task.due_date)
    else:
        alarm.add(
            "trigger",
            remind_at.astimezone(timezone.utc),
            parameters={"VALUE": "DATE-TIME"},
        )
    return alarm
