"""Reach: SMS reminders and two-way messaging on AWS (the shared Lambda layer package)."""
