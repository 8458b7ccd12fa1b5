"""The HTTP routes, schedules and stream handler, one Chalice blueprint per
audience; app.py registers them (its table of contents)."""
