"""Tasks: the model, schemas, views and service, with completion, ordering, subtasks,
the listing and idempotency.
"""
