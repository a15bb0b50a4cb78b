"""Containers: the kind, its services, reads, worker operations and pages."""
