"""Quota-change requests: a team admin asks for new quota limits, an administrator decides.

A kind of request like any other (registered in ``portal.apps``), so it is listed, approved and
rejected where every ask is; it counts against no quota and runs no job: approval applies it.
"""
