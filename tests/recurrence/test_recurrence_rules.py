"""Recurrence rules without a database: each expected instant written out in UTC,
with the local wall-clock time it stands for.

DST changes in 2027: Europe/Berlin Mar 28 (02:00 CET -> 03:00 CEST) and Oct 31
(03:00 CEST -> 02:00 CET); America/New_York Mar 14 (02:00 EST -> 03:00 EDT) and
Nov 7 (02:00 EDT -> 01:00 EST)."""

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib import resources

import pytest
from marshmallow import Schema, ValidationError

from taskapi.recurrence.dates import WALL_TIME, next_occurrence
from taskapi.recurrence.rules import RecurrenceError, parse_rule, zone_name
from taskapi.recurrence.schemas import Recurrence


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def chain(rule, tz, first_due, steps):
    """The due dates of the next `steps` tasks, each completed at its due date;
    "end" where there is no next one."""
    recurrence = {"rule": rule, "timezone": tz, "from": "due"}
    due, dues = utc(first_due), []
    for _ in range(steps):
        due, recurrence = next_occurrence(recurrence, due, due)
        if due is None:
            return [*dues, "end"]
        dues.append(due.isoformat().replace("+00:00", "Z"))
    return dues


# Each case: rule, time zone, first due (UTC), then the next due dates (UTC) in turn;
# "end": that task has no next one.
SCHEDULES = {
    "daily 09:00 Berlin, spring forward": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2027-03-27T08:00:00Z",  # Sat 09:00 CET
        [
            "2027-03-28T07:00:00Z",  # Sun 09:00 CEST
            "2027-03-29T07:00:00Z",  # Mon 09:00 CEST
        ],
    ),
    "daily 09:00 Berlin, fall back": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2027-10-30T07:00:00Z",  # Sat 09:00 CEST
        [
            "2027-10-31T08:00:00Z",  # Sun 09:00 CET
            "2027-11-01T08:00:00Z",  # Mon 09:00 CET
        ],
    ),
    "daily 09:00 New York, spring forward": (
        "FREQ=DAILY",
        "America/New_York",
        "2027-03-13T14:00:00Z",  # Sat 09:00 EST
        [
            "2027-03-14T13:00:00Z",  # Sun 09:00 EDT
            "2027-03-15T13:00:00Z",  # Mon 09:00 EDT
        ],
    ),
    "daily 09:00 New York, fall back": (
        "FREQ=DAILY",
        "America/New_York",
        "2027-11-06T13:00:00Z",  # Sat 09:00 EDT
        [
            "2027-11-07T14:00:00Z",  # Sun 09:00 EST
            "2027-11-08T14:00:00Z",  # Mon 09:00 EST
        ],
    ),
    # 02:30 does not exist on Mar 28 in Berlin: read with the offset before the gap
    # (CET), it is 01:30Z, which the clocks show as 03:30 CEST (RFC 5545 3.3.5).
    # The next recurrence keeps 02:30 (WALL_TIME), so Monday is 02:30 again.
    "daily 02:30 Berlin, the skipped hour": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2027-03-27T01:30:00Z",  # Sat 02:30 CET
        [
            "2027-03-28T01:30:00Z",  # Sun 02:30 does not exist: 03:30 CEST
            "2027-03-29T00:30:00Z",  # Mon 02:30 CEST
            "2027-03-30T00:30:00Z",  # Tue 02:30 CEST
        ],
    ),
    "daily 02:30 New York, the skipped hour": (
        "FREQ=DAILY",
        "America/New_York",
        "2027-03-13T07:30:00Z",  # Sat 02:30 EST
        [
            "2027-03-14T07:30:00Z",  # Sun 02:30 does not exist: 03:30 EDT
            "2027-03-15T06:30:00Z",  # Mon 02:30 EDT
        ],
    ),
    "weekly Sunday 02:15 Berlin, the skipped hour": (
        "FREQ=WEEKLY",
        "Europe/Berlin",
        "2027-03-21T01:15:00Z",  # Sun Mar 21 02:15 CET
        [
            "2027-03-28T01:15:00Z",  # Sun Mar 28 02:15 does not exist: 03:15 CEST
            "2027-04-04T00:15:00Z",  # Sun Apr 4 02:15 CEST
        ],
    ),
    # 02:30 happens twice on Oct 31 in Berlin: the first one (CEST, fold=0).
    "daily 02:30 Berlin, the repeated hour": (
        "FREQ=DAILY",
        "Europe/Berlin",
        "2027-10-30T00:30:00Z",  # Sat 02:30 CEST
        [
            "2027-10-31T00:30:00Z",  # Sun 02:30 CEST, the first of the two
            "2027-11-01T01:30:00Z",  # Mon 02:30 CET
        ],
    ),
    "monthly on the 31st skips shorter months": (
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "Europe/Berlin",
        "2027-01-31T08:00:00Z",  # Jan 31 09:00 CET
        [
            "2027-03-31T07:00:00Z",  # Mar 31 09:00 CEST
            "2027-05-31T07:00:00Z",  # May 31 09:00 CEST
            "2027-07-31T07:00:00Z",  # Jul 31 09:00 CEST
            "2027-08-31T07:00:00Z",  # Aug 31 09:00 CEST
            "2027-10-31T08:00:00Z",  # Oct 31 09:00 CET (after the change at 03:00)
            "2027-12-31T08:00:00Z",  # Dec 31 09:00 CET
            "2028-01-31T08:00:00Z",  # Jan 31 09:00 CET
        ],
    ),
    "monthly without BYMONTHDAY keeps the 31st too": (
        "FREQ=MONTHLY",
        "UTC",
        "2027-01-31T12:00:00Z",
        ["2027-03-31T12:00:00Z", "2027-05-31T12:00:00Z"],
    ),
    "monthly on the last day": (
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "UTC",
        "2027-01-31T12:00:00Z",
        [
            "2027-02-28T12:00:00Z",
            "2027-03-31T12:00:00Z",
            "2027-04-30T12:00:00Z",
            "2027-05-31T12:00:00Z",
            "2027-06-30T12:00:00Z",
            "2027-07-31T12:00:00Z",
            "2027-08-31T12:00:00Z",
            "2027-09-30T12:00:00Z",
            "2027-10-31T12:00:00Z",
            "2027-11-30T12:00:00Z",
            "2027-12-31T12:00:00Z",
            "2028-01-31T12:00:00Z",
            "2028-02-29T12:00:00Z",  # a leap year
        ],
    ),
    "last Friday of the month, 17:00 New York": (
        "FREQ=MONTHLY;BYDAY=-1FR",
        "America/New_York",
        "2027-01-29T22:00:00Z",  # Fri Jan 29 17:00 EST
        [
            "2027-02-26T22:00:00Z",  # Fri Feb 26 17:00 EST
            "2027-03-26T21:00:00Z",  # Fri Mar 26 17:00 EDT
            "2027-04-30T21:00:00Z",  # Fri Apr 30 17:00 EDT
        ],
    ),
    # 08:00 in Tokyo is 23:00Z the day before: the weekdays are Tokyo's.
    "every weekday, 08:00 Tokyo": (
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "Asia/Tokyo",
        "2027-01-06T23:00:00Z",  # Thu Jan 7 08:00 JST
        [
            "2027-01-07T23:00:00Z",  # Fri Jan 8 08:00 JST
            "2027-01-10T23:00:00Z",  # Mon Jan 11 08:00 JST
            "2027-01-11T23:00:00Z",  # Tue Jan 12 08:00 JST
        ],
    ),
    "every 2 weeks on Monday and Thursday, 10:00 Berlin": (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "Europe/Berlin",
        "2027-01-04T09:00:00Z",  # Mon Jan 4 10:00 CET
        [
            "2027-01-07T09:00:00Z",  # Thu Jan 7
            "2027-01-18T09:00:00Z",  # Mon Jan 18
            "2027-01-21T09:00:00Z",  # Thu Jan 21
            "2027-02-01T09:00:00Z",  # Mon Feb 1
        ],
    ),
    "yearly on Feb 29": (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "Europe/Berlin",
        "2028-02-29T08:00:00Z",  # Tue Feb 29 2028 09:00 CET
        [
            "2032-02-29T08:00:00Z",  # Sun Feb 29 2032 09:00 CET
            "2036-02-29T08:00:00Z",  # Fri Feb 29 2036 09:00 CET
        ],
    ),
    "yearly from Feb 29 without BY parts": (
        "FREQ=YEARLY",
        "UTC",
        "2028-02-29T09:00:00Z",
        ["2032-02-29T09:00:00Z"],
    ),
    "COUNT runs out: this task and two more": (
        "FREQ=DAILY;COUNT=3",
        "UTC",
        "2027-05-01T09:00:00Z",
        ["2027-05-02T09:00:00Z", "2027-05-03T09:00:00Z", "end"],
    ),
    "UNTIL in UTC is inclusive, then nothing": (
        "FREQ=DAILY;UNTIL=20270310T080000Z",
        "Europe/Berlin",
        "2027-03-09T08:00:00Z",  # Tue 09:00 CET
        ["2027-03-10T08:00:00Z", "end"],  # Wed 09:00 CET, exactly UNTIL
    ),
    # 09:00 in Auckland is 20:00Z the day before: UNTIL's date is Auckland's.
    "UNTIL as a date is the whole local day": (
        "FREQ=DAILY;UNTIL=20270310",
        "Pacific/Auckland",
        "2027-03-07T20:00:00Z",  # Mon Mar 8 09:00 NZDT
        [
            "2027-03-08T20:00:00Z",  # Tue Mar 9 09:00 NZDT
            "2027-03-09T20:00:00Z",  # Wed Mar 10 09:00 NZDT
            "end",  # Thu Mar 11 09:00 NZDT (Mar 10 in UTC) is past UNTIL
        ],
    ),
}


@pytest.mark.parametrize("case", SCHEDULES, ids=list(SCHEDULES))
def test_schedule(case):
    rule, tz, first_due, expected = SCHEDULES[case]
    assert chain(rule, tz, first_due, len(expected)) == expected


def test_count_is_lowered_on_each_next_task():
    recurrence = {"rule": "FREQ=WEEKLY;COUNT=3;BYDAY=MO", "timezone": "UTC"}
    due, second = next_occurrence(recurrence, utc("2027-01-04T09:00:00Z"), None)
    assert due == utc("2027-01-11T09:00:00Z")
    assert second == {
        "rule": "FREQ=WEEKLY;COUNT=2;BYDAY=MO",
        "timezone": "UTC",
        "from": "due",
    }
    due, third = next_occurrence(second, due, None)
    assert third["rule"] == "FREQ=WEEKLY;COUNT=1;BYDAY=MO"
    assert next_occurrence(third, due, None) == (None, None)


# from: completion. Each: rule, due, completed at, next due (UTC); Europe/Berlin.
COMPLETIONS = {
    "daily, completed two days late": (
        "FREQ=DAILY",
        "2027-06-07T07:00:00Z",  # Mon 09:00 CEST
        "2027-06-09T12:00:00Z",  # Wed 14:00 CEST
        "2027-06-10T07:00:00Z",  # Thu 09:00 CEST
    ),
    "daily, completed early the same morning": (
        "FREQ=DAILY",
        "2027-06-07T07:00:00Z",  # Mon 09:00 CEST
        "2027-06-07T05:00:00Z",  # Mon 07:00 CEST, before the 09:00 slot
        "2027-06-08T07:00:00Z",  # Tue 09:00 CEST, not Mon 09:00
    ),
    "every 3 days, completed two days early": (
        "FREQ=DAILY;INTERVAL=3",
        "2027-06-07T07:00:00Z",  # Mon 09:00 CEST
        "2027-06-05T06:00:00Z",  # Sat 08:00 CEST
        "2027-06-08T07:00:00Z",  # Tue 09:00 CEST: Sat + 3 days
    ),
    "weekly, completed on Wednesday": (
        "FREQ=WEEKLY",
        "2027-06-07T07:00:00Z",  # Mon 09:00 CEST
        "2027-06-09T16:00:00Z",  # Wed 18:00 CEST
        "2027-06-16T07:00:00Z",  # Wed 09:00 CEST a week later
    ),
    "the completion's local date, not its UTC date": (
        "FREQ=DAILY",
        "2027-06-07T07:00:00Z",  # Mon 09:00 CEST
        "2027-06-08T22:30:00Z",  # Wed Jun 9 00:30 CEST (still Tue in UTC)
        "2027-06-10T07:00:00Z",  # Thu 09:00 CEST
    ),
    "monthly, completed late, keeps the due's time of day across DST": (
        "FREQ=MONTHLY",
        "2027-03-15T08:00:00Z",  # Mon Mar 15 09:00 CET
        "2027-04-02T10:00:00Z",  # Fri Apr 2 12:00 CEST
        "2027-05-02T07:00:00Z",  # Sun May 2 09:00 CEST
    ),
}


@pytest.mark.parametrize("case", COMPLETIONS, ids=list(COMPLETIONS))
def test_from_completion(case):
    rule, due, completed_at, expected = COMPLETIONS[case]
    recurrence = {"rule": rule, "timezone": "Europe/Berlin", "from": "completion"}
    found, following = next_occurrence(recurrence, utc(due), utc(completed_at))
    assert found == utc(expected)
    assert following == recurrence


NO_FURTHER = {
    "COUNT=1 is the last one": ("FREQ=DAILY;COUNT=1", "2027-05-01T09:00:00Z"),
    "UNTIL already passed": (
        "FREQ=DAILY;UNTIL=20270101T000000Z",
        "2027-05-01T09:00:00Z",
    ),
    "UNTIL is this very occurrence": (
        "FREQ=WEEKLY;UNTIL=20270501T090000Z",
        "2027-05-01T09:00:00Z",
    ),
    "next one beyond the 100-year horizon": (
        "FREQ=YEARLY;INTERVAL=101",
        "2027-05-01T09:00:00Z",
    ),
    # Rules that pass the checks but never match: the search gives up, quickly.
    "a sixth Monday picked by BYSETPOS": (
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "2027-05-03T09:00:00Z",
    ),
    "week 53 in June": ("FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6", "2027-05-03T09:00:00Z"),
    "every 7 days on another weekday": (
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",
        "2027-05-03T09:00:00Z",
    ),
    "Feb 29 every 400 years from a non-leap century": (
        "FREQ=YEARLY;INTERVAL=400;BYMONTH=2;BYMONTHDAY=29",
        "2100-02-28T09:00:00Z",
    ),
    "the end of the calendar": ("FREQ=DAILY", "9999-12-31T09:00:00Z"),
}


@pytest.mark.parametrize("case", NO_FURTHER, ids=list(NO_FURTHER))
def test_no_further_occurrence(case):
    rule, due = NO_FURTHER[case]
    recurrence = {"rule": rule, "timezone": "America/New_York", "from": "due"}
    assert next_occurrence(recurrence, utc(due), utc(due)) == (None, None)


BERLIN_0230 = {"rule": "FREQ=DAILY", "timezone": "Europe/Berlin", "from": "due"}


def test_a_time_moved_by_the_gap_is_kept_for_the_next_one_only():
    # Sat Mar 27 02:30 CET -> Sun 02:30, which is 03:30 CEST: 02:30 is remembered.
    sunday, recurrence = next_occurrence(BERLIN_0230, utc("2027-03-27T01:30:00Z"), None)
    assert sunday == utc("2027-03-28T01:30:00Z")
    assert recurrence == {**BERLIN_0230, WALL_TIME: "02:30:00"}
    # Mon 02:30 CEST exists: nothing to remember any more.
    monday, recurrence = next_occurrence(recurrence, sunday, None)
    assert monday == utc("2027-03-29T00:30:00Z")
    assert recurrence == BERLIN_0230


def test_a_kept_time_that_no_longer_explains_the_due_date_is_ignored():
    # The user moved Sunday's task to 10:00 CEST: the series follows 10:00.
    moved = utc("2027-03-28T08:00:00Z")  # Sun 10:00 CEST
    kept = {**BERLIN_0230, WALL_TIME: "02:30:00"}
    assert next_occurrence(kept, moved, None) == (
        utc("2027-03-29T08:00:00Z"),  # Mon 10:00 CEST
        BERLIN_0230,
    )


def test_a_kept_time_counts_from_completion_too():
    recurrence = {**BERLIN_0230, "from": "completion", WALL_TIME: "02:30:00"}
    sunday = utc("2027-03-28T01:30:00Z")  # Sun 03:30 CEST, moved from 02:30
    done = utc("2027-03-30T10:00:00Z")  # Tue 12:00 CEST
    found, following = next_occurrence(recurrence, sunday, done)
    assert found == utc("2027-03-31T00:30:00Z")  # Wed 02:30 CEST
    assert WALL_TIME not in following


def test_the_schema_neither_shows_nor_accepts_the_kept_time():
    kept = {**BERLIN_0230, WALL_TIME: "02:30:00"}
    assert TaskLike().dump({"recurrence": kept}) == {"recurrence": BERLIN_0230}
    with pytest.raises(ValidationError) as raised:
        TaskLike().load({"recurrence": kept})
    assert raised.value.messages == {"recurrence": {WALL_TIME: ["Unknown field."]}}


def test_times_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_occurrence({"rule": "FREQ=DAILY"}, datetime(2027, 1, 1, 9), None)
    with pytest.raises(ValueError, match="completed_at"):
        next_occurrence(
            {"rule": "FREQ=DAILY", "from": "completion"},
            datetime(2027, 1, 1, 9, tzinfo=timezone.utc),
            None,
        )


# Validation ------------------------------------------------------------------

NORMALISED = {
    "FREQ=DAILY": "FREQ=DAILY",
    " rrule:freq=weekly;byday=mo,th ": "FREQ=WEEKLY;BYDAY=MO,TH",
    "RRULE:FREQ=MONTHLY;BYDAY=-1FR": "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1": (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
    ),
    "FREQ=YEARLY;BYWEEKNO=1,-1;BYDAY=MO;WKST=SU": (
        "FREQ=YEARLY;BYWEEKNO=1,-1;BYDAY=MO;WKST=SU"
    ),
    "FREQ=DAILY;UNTIL=20271231T235959z": "FREQ=DAILY;UNTIL=20271231T235959Z",
    "FREQ=DAILY;UNTIL=20271231;INTERVAL=2": "FREQ=DAILY;UNTIL=20271231;INTERVAL=2",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=+2SU": "FREQ=YEARLY;BYMONTH=3;BYDAY=+2SU",
}


@pytest.mark.parametrize("given", NORMALISED)
def test_rule_is_normalised(given):
    assert parse_rule(given).text == NORMALISED[given]


# Each refused rule and a piece of its message.
REFUSED = {
    "": "empty",
    "RRULE:": "empty",
    "INTERVAL=2": "FREQ is required",
    "FREQ=HOURLY": "FREQ=HOURLY is not supported",
    "FREQ=MINUTELY": "FREQ=MINUTELY is not supported",
    "FREQ=SECONDLY": "FREQ=SECONDLY is not supported",
    "FREQ=FORTNIGHTLY": "FREQ=FORTNIGHTLY is not supported",
    "DTSTART=20270101T090000Z;FREQ=DAILY": "DTSTART is not allowed",
    "DTSTART:20270101T090000Z\nRRULE:FREQ=DAILY": "DTSTART is not allowed",
    "FREQ=DAILY;BYHOUR=9": "BYHOUR is not supported",
    "FREQ=DAILY;BYMINUTE=30": "BYMINUTE is not supported",
    "FREQ=DAILY;BYSECOND=0": "BYSECOND is not supported",
    "FREQ=YEARLY;BYYEARDAY=100": "BYYEARDAY is not supported",
    "FREQ=YEARLY;BYEASTER=0": "BYEASTER is not a supported rule part",
    "FREQ=DAILY;X-APPLE=1": "X-APPLE is not a supported rule part",
    "FREQ=DAILY;FREQ=WEEKLY": "FREQ is given more than once",
    "FREQ=DAILY;INTERVAL=2;INTERVAL=3": "INTERVAL is given more than once",
    "FREQ=DAILY;;COUNT=2": "is not NAME=VALUE",
    "FREQ=DAILY;COUNT": "is not NAME=VALUE",
    "FREQ=DAILY;COUNT=": "is not NAME=VALUE",
    "FREQ DAILY": "is not NAME=VALUE",
    "FREQ=DAILY;COUNT=0": "COUNT=0: 0 is not in 1 to 10000",
    "FREQ=DAILY;COUNT=-1": "not a number",
    "FREQ=DAILY;COUNT=three": "not a number",
    "FREQ=DAILY;COUNT=10001": "not in 1 to 10000",
    "FREQ=DAILY;COUNT=2,3": "one number only",
    "FREQ=DAILY;INTERVAL=0": "not in 1 to 1000",
    "FREQ=DAILY;INTERVAL=1.5": "not a number",
    "FREQ=DAILY;COUNT=3;UNTIL=20271231T000000Z": "COUNT and UNTIL cannot both",
    "FREQ=DAILY;UNTIL=2027-12-31": "UNTIL=2027-12-31: use a date",
    "FREQ=DAILY;UNTIL=20271231T235959": "UNTIL=20271231T235959: use a date",
    "FREQ=DAILY;UNTIL=20270230": "UNTIL=20270230: use a date",
    "FREQ=DAILY;UNTIL=20271231T250000Z": "use a date",
    "FREQ=WEEKLY;BYDAY=XX": "not a weekday like MO",
    "FREQ=WEEKLY;BYDAY=MO,": "not a weekday like MO",
    "FREQ=MONTHLY;BYDAY=0MO": "not in 1 to 53",
    "FREQ=MONTHLY;BYDAY=+MO": "not a weekday like MO",
    "FREQ=YEARLY;BYDAY=54MO": "not in 1 to 53",
    "FREQ=MONTHLY;BYMONTHDAY=32": "32 is not in 1 to 31",
    "FREQ=MONTHLY;BYMONTHDAY=0": "0 is not in 1 to 31",
    "FREQ=MONTHLY;BYMONTHDAY=-32": "is not in 1 to 31",
    "FREQ=YEARLY;BYMONTH=13": "13 is not in 1 to 12",
    "FREQ=YEARLY;BYMONTH=-1": "not a number",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0": "0 is not in 1 to 366",
    "FREQ=YEARLY;BYWEEKNO=54": "54 is not in 1 to 53",
    "FREQ=WEEKLY;WKST=XX": "WKST=XX: not a weekday",
    "FREQ=MONTHLY;BYWEEKNO=1": "BYWEEKNO is only allowed with FREQ=YEARLY",
    "FREQ=WEEKLY;BYMONTHDAY=1": "BYMONTHDAY is not allowed with FREQ=WEEKLY",
    "FREQ=MONTHLY;BYSETPOS=1": "BYSETPOS needs another BY",
    "FREQ=DAILY;BYDAY=MO;BYSETPOS=2": "a DAILY period has at most 1",
    "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=8": "a WEEKLY period has at most 7",
    "FREQ=WEEKLY;BYDAY=1MO": "needs FREQ=MONTHLY or FREQ=YEARLY",
    "FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO": "cannot go with BYWEEKNO",
    "FREQ=MONTHLY;BYDAY=6FR": "at most 5 of a weekday",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30": "BYMONTH and BYMONTHDAY never meet",
    "FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31,-31": "never meet",
}


@pytest.mark.parametrize("rule", REFUSED)
def test_rule_is_refused(rule):
    with pytest.raises(RecurrenceError, match=re.escape(REFUSED[rule])):
        parse_rule(rule)


ZONES = {
    "UTC": "UTC",
    "Europe/Berlin": "Europe/Berlin",
    "europe/berlin": "Europe/Berlin",
    "AMERICA/NEW_YORK": "America/New_York",
    "America/Argentina/Buenos_Aires": "America/Argentina/Buenos_Aires",
}


@pytest.mark.parametrize("name", ZONES)
def test_time_zone_is_spelled_the_iana_way(name):
    assert zone_name(name) == ZONES[name]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Mars/Olympus_Mons",
        "Europe/Berlin ",
        "../../etc/passwd",
        "Factory",
        "+01:00",
    ],
)
def test_time_zone_is_refused(name):
    with pytest.raises(RecurrenceError, match="Unknown time zone"):
        zone_name(name)


def test_time_zones_come_from_tzdata_not_the_host(tmp_path):
    # A host whose "Europe/Berlin" is really UTC: ZoneInfo(key) would believe it.
    (tmp_path / "Europe").mkdir()
    utc_tzif = resources.files("tzdata.zoneinfo").joinpath("UTC").read_bytes()
    (tmp_path / "Europe" / "Berlin").write_bytes(utc_tzif)
    probe = (
        "from datetime import datetime; from zoneinfo import ZoneInfo; "
        "from taskapi.recurrence.rules import zone; "
        "moment = datetime(2027, 1, 1, 9); "
        "print(moment.replace(tzinfo=ZoneInfo('Europe/Berlin')).utcoffset(), "
        "moment.replace(tzinfo=zone('Europe/Berlin')).utcoffset())"
    )
    env = {**os.environ, "PYTHONTZPATH": str(tmp_path)}
    shown = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True
    )
    assert shown.stdout.split() == ["0:00:00", "1:00:00"], shown.stderr


# The marshmallow field -------------------------------------------------------


class TaskLike(Schema):
    recurrence = Recurrence()


def test_field_fills_the_defaults():
    loaded = TaskLike().load({"recurrence": {"rule": "rrule:freq=daily"}})
    assert loaded == {
        "recurrence": {"rule": "FREQ=DAILY", "timezone": "UTC", "from": "due"}
    }


def test_field_loads_and_dumps_the_same_object():
    given = {
        "rule": "FREQ=WEEKLY;BYDAY=MO,TH",
        "timezone": "Europe/Berlin",
        "from": "completion",
    }
    loaded = TaskLike().load({"recurrence": given})
    assert loaded == {"recurrence": given}
    assert TaskLike().dump(loaded) == {"recurrence": given}


def test_field_allows_null():
    assert TaskLike().load({"recurrence": None}) == {"recurrence": None}


FIELD_ERRORS = {
    "bad rule": (
        {"rule": "FREQ=HOURLY"},
        {
            "rule": [
                "FREQ=HOURLY is not supported: use DAILY, WEEKLY, MONTHLY or YEARLY."
            ]
        },
    ),
    "bad time zone": (
        {"rule": "FREQ=DAILY", "timezone": "Mars/Olympus_Mons"},
        {"timezone": ["Unknown time zone 'Mars/Olympus_Mons': use an IANA name."]},
    ),
    "bad from": (
        {"rule": "FREQ=DAILY", "from": "start"},
        {"from": ["Must be one of: due, completion."]},
    ),
    "no rule": ({"timezone": "UTC"}, {"rule": ["Missing data for required field."]}),
    "unknown key": (
        {"rule": "FREQ=DAILY", "dtstart": "2027-01-01"},
        {"dtstart": ["Unknown field."]},
    ),
    "rule not a string": ({"rule": 5}, {"rule": ["Not a valid string."]}),
    "not an object": ("FREQ=DAILY", {"_schema": ["Invalid input type."]}),
}


@pytest.mark.parametrize("case", FIELD_ERRORS, ids=list(FIELD_ERRORS))
def test_field_errors_name_recurrence(case):
    given, errors = FIELD_ERRORS[case]
    with pytest.raises(ValidationError) as raised:
        TaskLike().load({"recurrence": given})
    assert raised.value.messages == {"recurrence": errors}
