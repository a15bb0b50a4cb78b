"""Pages that look across every app (dashboard, networks overview) and the demo seed.

It may depend on ``portal``, ``hypervisors`` and ``containers``; nothing depends on it.
"""
