"""Reminder rules without a database: durations, the list field, and `remind_at`
written out in UTC (with the local time where it helps)."""

from datetime import datetime, timedelta

import pytest
from marshmallow import Schema, ValidationError

from taskapi.reminders.rules import parse_duration, remind_times
from taskapi.reminders.schemas import Reminders


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


DURATIONS = {
    "PT15M": timedelta(minutes=15),
    "PT0M": timedelta(0),
    "P0D": timedelta(0),
    "PT90M": timedelta(minutes=90),
    "pt1h": timedelta(hours=1),
    "P1D": timedelta(days=1),
    "P1DT12H": timedelta(days=1, hours=12),
    "P2W": timedelta(weeks=2),
    "P1W1DT1H1M": timedelta(days=8, hours=1, minutes=1),
    "P30D": timedelta(days=30),
    "P4W2D": timedelta(days=30),
    "PT720H": timedelta(days=30),
    "PT43200M": timedelta(days=30),
}


@pytest.mark.parametrize("text", DURATIONS)
def test_duration(text):
    assert parse_duration(text) == DURATIONS[text]


# Each refused duration and a piece of its message.
REFUSED_DURATIONS = {
    "": "is not an ISO 8601 duration",
    "P": "is not an ISO 8601 duration",
    "PT": "is not an ISO 8601 duration",
    "P1DT": "is not an ISO 8601 duration",
    "15M": "is not an ISO 8601 duration",
    "PT15M ": "is not an ISO 8601 duration",
    "15 minutes": "is not an ISO 8601 duration",
    "P1Y": "no years or months",
    "P1M": "no years or months",
    "P1MT5M": "no years or months",
    "PT30S": "no seconds",
    "PT1M30S": "no seconds",
    "PT1.5H": "no fractions",
    "PT1,5H": "no fractions",
    "-PT5M": "cannot be after the due date",
    "P-1D": "is not an ISO 8601 duration",
    "P30DT1M": "longer than P30D",
    "P31D": "longer than P30D",
    "P5W": "longer than P30D",
    "PT43201M": "longer than P30D",
    "PT9999999999M": "is not an ISO 8601 duration",
}


@pytest.mark.parametrize("text", REFUSED_DURATIONS)
def test_duration_is_refused(text):
    with pytest.raises(ValidationError, match=REFUSED_DURATIONS[text]):
        parse_duration(text)


@pytest.mark.parametrize("value", [15, None, ["PT15M"]])
def test_duration_must_be_a_string(value):
    with pytest.raises(ValidationError, match="Not a string"):
        parse_duration(value)


# The list field --------------------------------------------------------------


class TaskLike(Schema):
    reminders = Reminders()


def test_field_loads_before_and_at():
    loaded = TaskLike().load(
        {"reminders": [{"before": "pt15m"}, {"at": "2027-03-28T09:00:00+02:00"}]}
    )
    assert loaded == {
        "reminders": [{"before": "PT15M"}, {"at": utc("2027-03-28T07:00:00Z")}]
    }


def test_field_dumps_remind_at():
    timed = remind_times([{"before": "PT15M"}], utc("2027-03-28T07:00:00Z"))
    assert TaskLike().dump({"reminders": timed}) == {
        "reminders": [{"before": "PT15M", "remind_at": "2027-03-28T06:45:00Z"}]
    }


def test_field_takes_five():
    loaded = TaskLike().load({"reminders": [{"before": f"PT{n}M"} for n in range(5)]})
    assert len(loaded["reminders"]) == 5


FIELD_ERRORS = {
    "six": ([{"before": f"PT{n}M"} for n in range(6)], ["At most 5 reminders."]),
    "empty object": ([{}], {0: {"_schema": ["Give exactly one of `before` or `at`."]}}),
    "both": (
        [{"before": "PT5M", "at": "2027-01-01T09:00:00Z"}],
        {0: {"_schema": ["Give exactly one of `before` or `at`."]}},
    ),
    "unknown key": ([{"after": "PT5M"}], {0: {"after": ["Unknown field."]}}),
    "remind_at is read-only": (
        [{"remind_at": "2027-01-01T09:00:00Z"}],
        {0: {"remind_at": ["Unknown field."]}},
    ),
    "bad duration, second item": (
        [{"before": "PT5M"}, {"before": "P1Y"}],
        {
            1: {
                "before": [
                    "'P1Y' is not an ISO 8601 duration in weeks, days, hours and "
                    "minutes (e.g. PT15M): no years or months (their length varies)."
                ]
            }
        },
    ),
    "bad at": ([{"at": "tomorrow"}], {0: {"at": ["Not a valid RFC 3339 date-time"]}}),
    "null before": ([{"before": None}], {0: {"before": ["Field may not be null."]}}),
    "not a list": ({"before": "PT5M"}, ["Not a valid list."]),
    "not objects": (["PT5M"], {0: {"_schema": ["Invalid input type."]}}),
}


@pytest.mark.parametrize("case", FIELD_ERRORS, ids=list(FIELD_ERRORS))
def test_field_errors_name_reminders(case):
    given, errors = FIELD_ERRORS[case]
    with pytest.raises(ValidationError) as raised:
        TaskLike().load({"reminders": given})
    messages = raised.value.messages["reminders"]
    if case == "bad at":  # UTCDateTime's message goes on with an example
        messages[0]["at"][0] = messages[0]["at"][0].split(" (")[0]
    assert messages == errors


# remind_at -------------------------------------------------------------------

DUE = "2027-03-28T07:00:00Z"  # Sun 09:00 CEST, the morning after the clocks go forward

# Each case: the reminders as given, then (index given, remind_at in UTC) in order.
TIMES = {
    "sorted by remind_at": (
        [
            {"before": "PT15M"},
            {"at": utc("2027-03-28T06:00:00Z")},
            {"before": "P1D"},
            {"before": "PT0M"},
        ],
        [
            (2, "2027-03-27T07:00:00Z"),  # Sat 08:00 CET: P1D is 24 hours
            (1, "2027-03-28T06:00:00Z"),  # Sun 08:00 CEST
            (0, "2027-03-28T06:45:00Z"),  # Sun 08:45 CEST
            (3, "2027-03-28T07:00:00Z"),  # Sun 09:00 CEST, the due date itself
        ],
    ),
    "the same remind_at twice: the first given stays": (
        [{"before": "PT60M"}, {"before": "PT1H"}, {"before": "PT30M"}],
        [(0, "2027-03-28T06:00:00Z"), (2, "2027-03-28T06:30:00Z")],
    ),
    "an at and a before on the same instant: the first given stays": (
        [{"at": utc("2027-03-28T06:45:00Z")}, {"before": "PT15M"}],
        [(0, "2027-03-28T06:45:00Z")],
    ),
    "an at after the due date is allowed": (
        [{"at": utc("2027-03-29T07:00:00Z")}],
        [(0, "2027-03-29T07:00:00Z")],
    ),
    "an at as stored in JSON": (
        [{"at": "2027-03-28T08:00:00+02:00"}],
        [(0, "2027-03-28T06:00:00Z")],
    ),
    "none": ([], []),
}


@pytest.mark.parametrize("case", TIMES, ids=list(TIMES))
def test_remind_times(case):
    given, expected = TIMES[case]
    timed = remind_times(given, utc(DUE))
    assert timed == [{**given[i], "remind_at": utc(at)} for i, at in expected]


def test_at_reminders_need_no_due_date():
    at = utc("2027-03-28T06:00:00Z")
    assert remind_times([{"at": at}], None) == [{"at": at, "remind_at": at}]


def test_a_before_reminder_needs_a_due_date():
    with pytest.raises(ValidationError) as raised:
        remind_times([{"at": utc(DUE)}, {"before": "PT15M"}], None)
    assert raised.value.field_name == "reminders"
    assert raised.value.messages == ["A `before` reminder needs a due date."]


def test_a_reminder_before_year_one_is_refused():
    with pytest.raises(ValidationError, match="before year 1"):
        remind_times([{"before": "P1D"}], utc("0001-01-01T09:00:00Z"))
