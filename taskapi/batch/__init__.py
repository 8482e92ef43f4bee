"""POST /tasks/batch: several task operations in one transaction."""
