"""The REST API of the shared domain, and what every app's API is built on.

The API is another front door like the pages and the admin: it reads through the
same selectors and writes through the same services, so it has no rules of its own.
This package holds the parts every app's ``api`` package shares (authentication by
personal tokens, the error shape, idempotent writes, the scope of a token) and the
endpoints of the shared domain: teams, requests, jobs, audit events and tokens.
"""
