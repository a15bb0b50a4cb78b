"""Notifications: what the portal tells people, in the portal first and by e-mail after commit.

A notification row is written in the same transaction as the event it tells of, so a
rolled-back event tells nobody and a mail server that does not answer loses nothing:
the row is there, and the e-mail is retried by a Celery task.
"""
