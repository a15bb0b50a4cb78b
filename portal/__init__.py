"""The shared base: teams, memberships, quotas, requests, jobs and audit, and the skeletons every kind plugs into.

It knows no kind of resource by name: apps register theirs in ``portal.kinds``.
"""
