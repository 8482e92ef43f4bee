"""Your data, out and in: the export document (GET /export) and imports of it
or of iCalendar VTODOs (POST /import)."""
