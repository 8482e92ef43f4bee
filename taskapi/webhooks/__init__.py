"""Webhooks: registering them, the events recorded for them, and the worker that
delivers them.
"""
