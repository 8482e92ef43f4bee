"""Recurring tasks: the RRULE rules and the next occurrence made when one is completed.
"""
