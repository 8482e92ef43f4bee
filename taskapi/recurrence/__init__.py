"""Recurring tasks: the RRULE rules, the next due date, and the next occurrence
made when a recurring task is completed."""
