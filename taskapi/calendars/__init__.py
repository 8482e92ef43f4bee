"""Calendar feeds: secret iCalendar URLs of a user's dated tasks (or one list's)
that Google Calendar, Apple Calendar, Outlook and Thunderbird subscribe to
(docs/calendar.md)."""
