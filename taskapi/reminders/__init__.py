"""Reminders: their rules, the reminders table, GET /reminders and when reminder.due
fires.
"""
