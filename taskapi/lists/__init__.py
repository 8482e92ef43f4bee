"""Lists: a user's named lists of tasks."""
