"""What every domain uses: the session and engine, prepared statements, the user scope,
errors, JSON, ETags, pagination, the blueprint helpers. Imports no domain.
"""
