"""Leases: resources that end on a date, reminders before, stop at the end, delete after a grace period."""
