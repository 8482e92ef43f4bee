"""Request hooks and endpoints that are no domain: request logs, security headers, rate
limits, health, API docs, the gunicorn worker.
"""
