"""Quick add: one line of text becomes a task (CONTRACT.md "Quick add")."""
